#!/bin/bash
cd "$(dirname "$0")" && python search.py
