#!/bin/bash
mkdir -p out && python -c "import torch; torch.save(torch.load('base.pt')['model'], 'out/final.pt')"
