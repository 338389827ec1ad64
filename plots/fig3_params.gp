# Figure 3: parameter efficiency. Final test metric (mean +- sd over seeds)
# against the parameters a task stores, in percent of the backbone (log
# scale); one marker per method, one point per configuration of it.
# Variables from scripts/figures.sh: datafile, outbase, tasks, methods.
load "plots/style.gp"
do for [fmt in formats] {
    eval term_cmd(fmt, fig_width(words(tasks)), 520)
    set multiplot layout 1, words(tasks) title "Parameter efficiency: test metric vs. stored parameters (mean +- sd over seeds)"
    do for [t in tasks] {
        set title task_label(t)
        set logscale x
        set xlabel "stored parameters (% of the backbone, log scale)"
        set ylabel "test ".metric_label(t)
        set key bottom right
        set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
        plot for [m in methods] datafile using (strcol(1) eq t && strcol(2) eq m ? $4 : NaN):6:7 \
            with yerrorbars lw 2 pt method_point(m) ps 1.6 lc rgb method_color(m) title method_label(m)
    }
    unset multiplot
    set output
}
