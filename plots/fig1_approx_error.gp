# Figure 1: approximation error vs. training step. Mean over layers and
# q/k/v of the relative distance of each variant's folded weights to the
# full-tuning reference (1 = pretrained W0, 0 = the reference), with the
# Eckart-Young floor of the rank (the best any rank-r update can do) dashed.
# Variables from scripts/figures.sh: datafile, floorfile, outbase, tasks
# (task names), series ("method:variant" words), ranks (floor ranks).
load "plots/style.gp"
s_method(s) = s[1:strstrt(s, ":") - 1]
s_variant(s) = s[strstrt(s, ":") + 1:]
do for [fmt in formats] {
    eval term_cmd(fmt, fig_width(words(tasks)) + 280, 520)
    set multiplot layout 1, words(tasks) title "Approximation error: distance of the adapted q/k/v weights to full tuning"
    do for [t in tasks] {
        set autoscale xy
        stats datafile using (strcol(1) eq t ? $4 : NaN) nooutput
        x0 = STATS_min
        x1 = STATS_max
        set title task_label(t)
        set xlabel "training step"
        set ylabel "||W - W_full|| / ||W0 - W_full|| (mean over layers, q/k/v)"
        set yrange [0:*]
        set key outside right top vertical
        plot for [s in series] datafile \
                 using (strcol(1) eq t && strcol(2) eq s_method(s) && strcol(3) eq s_variant(s) ? $4 : NaN):6 \
                 with linespoints lw 2 pt method_point(s_method(s)) ps 0.7 lc rgb method_color(s_method(s)) \
                 dt variant_dash(s_variant(s)) title variant_label(s_method(s), s_variant(s)), \
             for [r in ranks] floorfile using (strcol(1) eq t && strcol(2) eq r ? x0 : NaN):4:(x1 - x0):(0) \
                 with vectors nohead dt 2 lw 2 lc rgb "#555555" title sprintf("Eckart-Young floor, rank %s", r)
    }
    unset multiplot
    set output
}
