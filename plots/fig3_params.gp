# Figure 3: parameter efficiency. Every row of the main table, one marker
# each (colour: the row's method; the legend names the rows as the table
# does): its test score per column (mean +- sd over seeds, the table's
# numbers) against the parameters it stores per task, in percent of the
# backbone (log scale; rows storing the same share side by side, column x).
# One panel per column, two a line, and the legend in a band of its own
# below them, clear of the data.
# Variables from scripts/figures.sh: datafile, outbase, cols (column
# numbers), col_labels ("col:label:metric" words), rows (row numbers),
# row_keys ("row:method:label" words).
load "plots/style.gp"
n_cols = words(cols)
n_rows = words(rows)
grid_cols = n_cols < 2 ? 1 : 2
grid_rows = (n_cols + grid_cols - 1) / grid_cols
key_cols = 4
key_lines = (n_rows + key_cols - 1) / key_cols
# the marker of the i-th row: filled shapes first, then open ones
row_point(i) = word("5 7 9 11 13 15 4 6 8 10 12 14", (i - 1) % 12 + 1) + 0
stats datafile using 8 nooutput
x_lo = STATS_min / 1.35
x_hi = STATS_max * 1.35
panel_px = 430
key_px = 30 + 24 * key_lines
title_px = 40
height = grid_rows * panel_px + key_px + title_px
key_h = 1.0 * key_px / height
panel_h = 1.0 * panel_px / height
do for [fmt in formats] {
    eval term_cmd(fmt, grid_cols * 560, height)
    set multiplot title "Parameter efficiency: test score against stored parameters (table main, mean +- sd over seeds)"
    set size 1.0 / grid_cols, panel_h
    do for [k = 1:n_cols] {
        c = word(cols, k)
        ck = word(col_labels, k)
        set autoscale xy
        unset logscale x
        stats datafile using (strcol(1) eq c ? $10 - $11 : NaN) nooutput
        lo = STATS_min
        stats datafile using (strcol(1) eq c ? $10 + $11 : NaN) nooutput
        hi = STATS_max
        set origin 1.0 * ((k - 1) % grid_cols) / grid_cols, key_h + (grid_rows - 1 - (k - 1) / grid_cols) * panel_h
        set yrange [ymin_of(lo, hi):ymax_of(lo, hi, field3(ck))]
        set xrange [x_lo:x_hi]
        set logscale x
        set title unspace(field2(ck))
        set xlabel "stored parameters (% of the backbone, log scale)"
        set ylabel "test ".unspace(field2(ck)).(field3(ck)[1:5] eq "cider" ? "" : " (%)")
        unset key
        plot for [i = 1:n_rows] datafile \
            using (strcol(1) eq c && strcol(4) eq field1(word(row_keys, i)) ? $8 : NaN):10:11 \
            with yerrorbars lw 1.5 pt row_point(i) ps 1.5 lc rgb method_color(field2(word(row_keys, i))) notitle
    }
    # the legend: an empty plot of the same markers across the bottom band
    set origin 0, 0
    set size 1, key_h
    unset logscale x
    set xrange [0:1]
    set yrange [0:1]
    unset title
    unset xlabel
    unset ylabel
    unset tics
    unset border
    unset grid
    set key center center horizontal maxcols key_cols maxrows key_lines box opaque width 2
    plot for [i = 1:n_rows] NaN with points pt row_point(i) ps 1.5 \
        lc rgb method_color(field2(word(row_keys, i))) title unspace(field3(word(row_keys, i)))
    set border
    set tics
    set grid
    unset multiplot
    set output
}
