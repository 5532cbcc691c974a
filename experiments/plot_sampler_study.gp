# Plots a sampler study (hardgnn study -> study.csv): mean cosine of the anchors with their
# positive, hard and random negatives, and the InfoNCE values, per epoch.
#   gnuplot -e "csv='runs/x/study.csv'; out='runs/x/study'" experiments/plot_sampler_study.gp
# writes out.png and out.svg.
if (!exists("csv")) csv = "study.csv"
if (!exists("out")) out = "study"
if (!exists("title")) title = "sampler study"
set datafile separator ","
set key autotitle columnhead
set grid
set key inside top right box opaque font ",9"

do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1100,460 font ",10" } else { set terminal svg size 1100,460 dynamic font ",10" }
  set termoption noenhanced  # plugin names keep their underscores
  set output out.".".fmt
  set multiplot layout 1,2 title title
  set xlabel "epoch (-1: before training)"
  set ylabel "mean cosine with the anchor"
  set key center right
  plot csv using 1:3 with linespoints lw 2 title "positive (next item)", \
       csv using 1:4 with linespoints lw 2 title "hard negatives (top-K cosine)", \
       csv using 1:5 with linespoints lw 2 title "random negatives"
  set ylabel "InfoNCE"
  set key top right
  plot csv using 1:2 with linespoints lw 2 title "training loss", \
       csv using 1:6 with linespoints lw 2 title "probe InfoNCE, hard", \
       csv using 1:7 with linespoints lw 2 title "probe InfoNCE, random"
  unset multiplot
  set output
}
