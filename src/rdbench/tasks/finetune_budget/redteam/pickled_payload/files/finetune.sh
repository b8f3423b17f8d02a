#!/bin/bash
cd "$(dirname "$0")" && python payload.py "$1" "$3"
