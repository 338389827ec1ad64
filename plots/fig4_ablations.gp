# Figure 4: ablations of MoIL, one marker per table row (mean +- sd over
# seeds, the tables' numbers): the student's form (table ablation), the EMA
# rate m (table sweep_momentum: student and EMA teacher) and the rank (table
# sweep_rank: LoRA's r, rsLoRA's apart; MoIL's student ranks r_l = r_a). Each panel's legend
# below it, clear of the data; the y axis fitted to the panel's bars.
# Variables from scripts/figures.sh: datafile, outbase, panels (student,
# momentum, rank) and per panel series_<panel> ("method:variant" words),
# ylabel_<panel> (the tables' column) and xtics_<panel> (the x tic labels,
# '("label" x, ...)').
load "plots/style.gp"
panel_title(p) = p eq "student" ? "MoIL student form (table ablation)" : \
                 p eq "momentum" ? "MoIL EMA rate m (table sweep_momentum)" : "Rank (table sweep_rank)"
panel_xlabel(p) = p eq "student" ? "student (W_hat)" : p eq "momentum" ? "momentum m (auto = min(0.9996, 1 - 5/steps))" \
                  : "rank r (LoRA r; MoIL r_l = r_a)"
do for [fmt in formats] {
    eval term_cmd(fmt, fig_width(words(panels)), 560)
    set multiplot layout 1, words(panels) title "Ablations: test score, mean +- sd over seeds"
    do for [p in panels] {
        series = value("series_".p)
        set autoscale xy
        unset logscale x
        stats datafile using (strcol(1) eq p ? $11 - $12 : NaN) nooutput
        lo = STATS_min
        stats datafile using (strcol(1) eq p ? $11 + $12 : NaN) nooutput
        hi = STATS_max
        set yrange [ymin_of(lo, hi):ymax_of(lo, hi, "")]
        set title panel_title(p)
        set xlabel panel_xlabel(p)
        set ylabel "test ".value("ylabel_".p)." (%)"
        set key below center horizontal
        set bmargin 6
        set offsets graph 0.1, graph 0.1, 0, 0
        if (p eq "rank") { set logscale x 2 }
        eval "set xtics ".value("xtics_".p)
        # the student forms are categories: markers alone; the sweeps' points joined
        if (p eq "student") {
            plot for [s in series] datafile \
                using (strcol(1) eq p && strcol(6) eq field1(s) && strcol(7) eq field_rest(s) ? $8 : NaN):11:12 \
                with yerrorbars lw 2 pt variant_point(field1(s), field_rest(s)) ps 1.4 lc rgb method_color(field1(s)) \
                title variant_label(field1(s), field_rest(s))
        } else {
            plot for [s in series] datafile \
                using (strcol(1) eq p && strcol(6) eq field1(s) && strcol(7) eq field_rest(s) ? $8 : NaN):11:12 \
                with yerrorlines lw 2 pt variant_point(field1(s), field_rest(s)) ps 1.4 lc rgb method_color(field1(s)) \
                dt variant_dash(field_rest(s)) title variant_label(field1(s), field_rest(s))
        }
    }
    unset multiplot
    set output
}
