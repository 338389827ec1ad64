# Figure 5: inference cost. Forward time per example of each method's
# evaluation forms, measured in one `moil bench-infer` run: as trained
# (hooks: LoRA/DoRA branches, adapters, prompts) and merged (the update folded
# into plain weights; only methods that can merge have it).
# Variables from scripts/figures.sh: datafile, outbase, methods.
load "plots/style.gp"
form_label(f) = f eq "merged" ? "merged" : "as trained"
do for [fmt in formats] {
    eval term_cmd(fmt, 900, 500)
    set title "Inference cost: forward time per example, merged vs. unmerged forms"
    set ylabel "time per example (ms)"
    set xlabel "method and evaluation form"
    set style fill solid 0.85 border -1
    set boxwidth 0.7
    set yrange [0:*]
    set xtics rotate by -30 left
    unset key
    plot for [m in methods] datafile \
        using (strcol(1) eq m ? $0 : NaN):3 with boxes lc rgb method_color(m), \
        datafile using 0:(NaN):xtic(method_label(strcol(1))." ".form_label(strcol(2))) with points notitle, \
        datafile using 0:3:(sprintf("%.2f", $3)) with labels offset 0, 0.7 font ",9"
    set output
}
