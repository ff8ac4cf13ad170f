"""``addnn deploy``: the board package (Vivado block design, build script, PYNQ driver) of a
generated HLS project, and the checks that need no board."""
