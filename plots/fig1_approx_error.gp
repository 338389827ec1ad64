# Figure 1: approximation error vs. training step. Mean over layers and
# q/k/v of the relative distance of each variant's folded weights to the
# full-tuning reference (1 = pretrained W0, 0 = the reference), with the
# Eckart-Young floor of each rank (the best any rank-r update can do) dashed,
# one grey per rank. The legend right of the panels, clear of the data.
# Variables from scripts/figures.sh: datafile, floorfile, outbase, tasks
# (task names), series ("method:variant" words), ranks (floor ranks).
load "plots/style.gp"
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
                 using (strcol(1) eq t && strcol(2) eq field1(s) && strcol(3) eq field_rest(s) ? $4 : NaN):6 \
                 with linespoints lw 2 pt variant_point(field1(s), field_rest(s)) ps 0.7 lc rgb method_color(field1(s)) \
                 dt variant_dash(field_rest(s)) title variant_label(field1(s), field_rest(s)), \
             for [i = 1:words(ranks)] floorfile \
                 using (strcol(1) eq t && strcol(2) eq word(ranks, i) ? x0 : NaN):4:(x1 - x0):(0) \
                 with vectors nohead dt 2 lw 2 lc rgb word("#333333 #999999", (i - 1) % 2 + 1) \
                 title sprintf("Eckart-Young floor, rank %s", word(ranks, i))
    }
    unset multiplot
    set output
}
