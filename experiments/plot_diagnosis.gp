# The diagnosis (issue 15 §1): probe InfoNCE against random negatives and the anchors' mean
# pair cosine per epoch, for the published SelfGNN form and the changes that let it learn.
#   gnuplot experiments/plot_diagnosis.gp   (from the repository root; reads
#   experiments/results/diagnosis/*.csv, writes experiments/results/diagnosis.png and .svg)
dir = "experiments/results/diagnosis/"
cases = "published gnn-layers-1 gnn-layers-0 normalized mf"
titles = "'SelfGNN as published' '1 propagation layer' 'no propagation' 'normalized propagation' 'MF (control)'"
set datafile separator ","
set grid
do for [fmt in "png svg"] {
  if (fmt eq "png") { set terminal pngcairo size 1100,460 font ",10" } else { set terminal svg size 1100,460 dynamic font ",10" }
  set termoption noenhanced
  set output "experiments/results/diagnosis.".fmt
  set multiplot layout 1,2 title "InfoNCE alone on gowalla-nyc (K = 5, tau = 0.1, 30 epochs)"
  set xlabel "epoch (-1: before training)"
  set ylabel "probe InfoNCE, random negatives"
  set key top right font ",9"
  plot for [i=1:words(cases)] dir.word(cases, i).".csv" using 1:7 with linespoints lw 2 title word(titles, i), \
       log(6) with lines dt 2 lc "black" title "chance, ln 6"
  set ylabel "mean cosine between two users' anchors"
  set key center right font ",9"
  plot for [i=1:words(cases)] dir.word(cases, i).".csv" using 1:9 with linespoints lw 2 title word(titles, i)
  unset multiplot
  set output
}
