# Plots for wh-pingpong --csv DIR:
#   gnuplot -e "dir='DIR'" benchmarks/pingpong/plot.gp
# writes DIR/latency.png (distribution of small-call round trips) and
# DIR/bandwidth.png (throughput against payload size).
if (!exists("dir")) dir = "pingpong-out"
transports = "shm unix tcp pipe"

set terminal pngcairo size 900,560 noenhanced
set grid

# --- latency distribution (CDF) of 64-byte echo round trips ---------------
set output dir."/latency.png"
set title "wh-pingpong: round-trip time of a 64-byte call (CDF)"
set xlabel "round-trip time (us, log scale)"
set ylabel "fraction of calls"
set logscale x
set key bottom right
set datafile separator whitespace
plot for [t in transports] dir."/lat-".t."-64.csv" using 1:2 with lines lw 2 title t

# --- bandwidth against size ------------------------------------------------
set output dir."/bandwidth.png"
set title "wh-pingpong: throughput (bytes moved both ways / round trip)"
set xlabel "payload size (bytes, log scale)"
set ylabel "MB/s (log scale)"
set logscale xy
set key top left
set datafile separator ","
plot for [t in transports." memcpy"] dir."/summary.csv" \
     using (strcol(1) eq t && $2 > 0 ? $2 : NaN):7 with linespoints lw 2 title t
