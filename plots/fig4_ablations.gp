# Figure 4: ablations of MoIL, test metric (mean +- sd over seeds): the
# student's form, the EMA rate m (student and EMA teacher) and the rank (LoRA
# rank; MoIL student ranks r_l = r_a), every other option at its default.
# Variables from scripts/figures.sh: datafile, outbase, panels (student,
# momentum, rank) and per panel series_<panel> ("task:method:variant" words)
# and xtics_<panel> (the x tic labels, '("label" x, ...)').
load "plots/style.gp"
w_task(s) = s[1:strstrt(s, ":") - 1]
w_rest(s) = s[strstrt(s, ":") + 1:]
w_method(s) = w_task(w_rest(s))
w_variant(s) = w_rest(w_rest(s))
panel_title(p) = p eq "student" ? "MoIL student form" : p eq "momentum" ? "MoIL EMA rate m" : "Rank"
panel_xlabel(p) = p eq "student" ? "student (W_hat)" : p eq "momentum" ? "momentum m (auto = min(0.9996, 1 - 5/steps))" \
                  : "rank r (LoRA r; MoIL r_l = r_a)"
do for [fmt in formats] {
    eval term_cmd(fmt, fig_width(words(panels)), 520)
    set multiplot layout 1, words(panels) title "Ablations: test metric (mean +- sd over seeds)"
    do for [p in panels] {
        series = value("series_".p)
        set title panel_title(p)
        set xlabel panel_xlabel(p)
        set ylabel "test metric (VQA score or accuracy, %)"
        set key bottom right
        set offsets graph 0.1, graph 0.1, graph 0.05, graph 0.05
        if (p eq "rank") { set logscale x 2 } else { unset logscale x }
        eval "set xtics ".value("xtics_".p)
        plot for [s in series] datafile \
            using (strcol(1) eq p && strcol(2) eq w_task(s) && strcol(3) eq w_method(s) && strcol(4) eq w_variant(s) \
                   ? $5 : NaN):8:9 \
            with yerrorlines lw 2 pt method_point(w_method(s)) ps 1.2 lc rgb method_color(w_method(s)) \
            dt variant_dash(w_variant(s)) title task_label(w_task(s)).": ".variant_label(w_method(s), w_variant(s))
    }
    unset multiplot
    set output
}
