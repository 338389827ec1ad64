# Figure 2: optimisation efficiency. The task metric on the validation split
# (mean over seeds) against the training step (top) and against wall time
# (bottom: step x the run's seconds per step), one column per task; each
# panel's legend below it, clear of the data.
# Variables from scripts/figures.sh: datafile, outbase, tasks, methods.
load "plots/style.gp"
do for [fmt in formats] {
    eval term_cmd(fmt, fig_width(words(tasks)), 900)
    set multiplot layout 2, words(tasks) columnsfirst title "Optimisation efficiency: validation metric during training"
    do for [t in tasks] {
        set autoscale xy
        stats datafile using (strcol(1) eq t ? $6 : NaN) nooutput
        set yrange [ymin_of(STATS_min, STATS_max):ymax_of(STATS_min, STATS_max, t eq "caption" ? "cider" : "")]
        set bmargin 6
        set title task_label(t)." vs. step"
        set xlabel "training step"
        set ylabel "validation ".metric_label(t)
        set key below center horizontal
        plot for [m in methods] datafile using (strcol(1) eq t && strcol(2) eq m ? $3 : NaN):6 \
            with linespoints lw 2 pt method_point(m) ps 0.8 lc rgb method_color(m) title method_label(m)
        set title task_label(t)." vs. wall time"
        set xlabel "wall time (s)"
        plot for [m in methods] datafile using (strcol(1) eq t && strcol(2) eq m ? $4 : NaN):6 \
            with linespoints lw 2 pt method_point(m) ps 0.8 lc rgb method_color(m) title method_label(m)
    }
    unset multiplot
    set output
}
