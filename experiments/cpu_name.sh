#!/usr/bin/env bash
# The CPU as the result files name it: "MODEL NAME (family F, model M)" from /proc/cpuinfo
# (timings differ by machine: OpenBLAS's kernels, memory bandwidth, the int8 instructions' rate).
field() { sed -n "s/^$1[[:space:]]*: //p" /proc/cpuinfo | head -1; }
printf '%s (family %s, model %s)\n' "$(field 'model name')" "$(field 'cpu family')" "$(field model)"
