# Shared look of every figure (loaded by plots/fig*.gp): one colour, point
# type and name per method, names as the tables of experiments/ print them,
# task names with their metric, and the output terminals.

method_color(m) = \
    m eq "full"    ? "#000000" : \
    m eq "heads"   ? "#9a9a9a" : \
    m eq "bitfit"  ? "#8c564b" : \
    m eq "prompt"  ? "#e377c2" : \
    m eq "adapter" ? "#ff7f0e" : \
    m eq "lora"    ? "#1f77b4" : \
    m eq "dora"    ? "#17becf" : \
    m eq "moil"    ? "#d62728" : "#7f7f7f"

method_point(m) = \
    m eq "full"    ? 5 : \
    m eq "heads"   ? 1 : \
    m eq "bitfit"  ? 3 : \
    m eq "prompt"  ? 13 : \
    m eq "adapter" ? 9 : \
    m eq "lora"    ? 7 : \
    m eq "dora"    ? 11 : \
    m eq "moil"    ? 15 : 6

method_label(m) = \
    m eq "full"    ? "Full tuning" : \
    m eq "heads"   ? "Heads only" : \
    m eq "bitfit"  ? "BitFit" : \
    m eq "prompt"  ? "Deep prompt" : \
    m eq "adapter" ? "Adapter" : \
    m eq "lora"    ? "LoRA" : \
    m eq "dora"    ? "DoRA" : \
    m eq "moil"    ? "MoIL" : m

# An evaluation variant of a run (weight_distance curves, metrics splits
# test@<variant>): MoIL's teachers keep MoIL's colour with their own dashes.
variant_label(m, v) = \
    v eq "ema"    ? method_label(m)." EMA teacher" : \
    v eq "online" ? method_label(m)." online teacher" : \
    v eq "merged" ? method_label(m)." (merged)" : \
    v eq "rslora" ? "rs".method_label(m)." (merged)" : \
    v eq "student" ? method_label(m)." (student)" : method_label(m)
variant_dash(v) = v eq "ema" ? 4 : v eq "online" || v eq "rslora" ? 3 : 1
# ... and the open form of its marker (the filled ones of method_point are odd)
variant_point(m, v) = (v eq "ema" || v eq "online" || v eq "rslora") && method_point(m) % 2 ? method_point(m) - 1 \
                                                                                        : method_point(m)

task_label(t) = \
    t eq "vqa"       ? "VQA" : \
    t eq "nlvr"      ? "NLVR" : \
    t eq "retrieval" ? "Retrieval" : \
    t eq "caption"   ? "Captioning" : t
# The metric figures 2-4 show per task (scripts/figures.sh selects it).
metric_label(t) = \
    t eq "vqa"       ? "VQA score (%)" : \
    t eq "nlvr"      ? "accuracy (%)" : \
    t eq "retrieval" ? "mean of IR/TR R@1,5,10 (%)" : \
    t eq "caption"   ? "CIDEr-D (x100)" : "metric"

# "set terminal ...; set output ..." for fmt (pngcairo or svg), w x h pixels;
# figures run it for both: eval term_cmd(fmt, w, h)
term_cmd(fmt, w, h) = sprintf("set terminal %s size %d,%d noenhanced font 'Sans,11' background rgb 'white'; set output '%s.%s'", \
                              fmt, w, h, outbase, fmt eq "svg" ? "svg" : "png")
formats = "pngcairo svg"

set datafile separator "\t"
set datafile missing ""
set grid lc rgb "#dddddd"
set key box opaque samplen 3 spacing 1.1
set border lw 1

# A word of the lists scripts/figures.sh passes, its spaces back ("~" there).
unspace(s) = strstrt(s, "~") ? s[1:strstrt(s, "~") - 1]." ".unspace(s[strstrt(s, "~") + 1:]) : s
# The fields of a "a:b:c" word.
field1(s) = s[1:strstrt(s, ":") - 1]
field_rest(s) = s[strstrt(s, ":") + 1:]
field2(s) = field1(field_rest(s))
field3(s) = field_rest(field_rest(s))
fmax(a, b) = a > b ? a : b
fmin(a, b) = a < b ? a : b
# The y range of a panel of percentages holding values lo to hi (bars
# included): a span of at least 10 points (differences of a point or two do
# not fill a panel), 8% of it beyond the values, within 0 and 100 (ymax_of:
# 100 unless the metric is a CIDEr, which goes above).
yspan(lo, hi) = fmax(hi - lo, 10)
ymid(lo, hi) = (lo + hi) / 2.0
ymin_of(lo, hi) = fmax(0, ymid(lo, hi) - 0.58 * yspan(lo, hi))
ymax_of(lo, hi, metric) = metric[1:5] eq "cider" ? ymid(lo, hi) + 0.58 * yspan(lo, hi) \
                                                 : fmin(100, ymid(lo, hi) + 0.58 * yspan(lo, hi))

# Pixels wide for a figure of n panels side by side.
fig_width(n) = n < 2 ? 760 : 40 + 540 * n
