# Stand-ins for the Vivado commands that build_bd.tcl calls, for a run in plain tclsh:
#   tclsh vivado_stub.tcl build_bd.tcl [IP_REPO]
# Each Vivado command prints "CALL <command> <args as a Tcl list>". The environment sets what
# the catalog holds: STUB_BOARD_PARTS and STUB_IPDEFS (space-separated). launch_runs leaves
# an empty bitstream and hardware handoff where Vivado would. No Vivado is involved.
proc record {name args} { puts [list CALL $name {*}$args] }
foreach cmd {create_project set_property update_ip_catalog create_bd_design apply_bd_automation
             connect_bd_net connect_bd_intf_net assign_bd_address validate_bd_design
             save_bd_design add_files update_compile_order wait_on_run write_hw_platform} {
    interp alias {} $cmd {} record $cmd
}
proc addnn_stub_match {pool pattern} {
    set hits {}
    foreach item $pool { if {[string match $pattern $item]} { lappend hits $item } }
    return $hits
}
proc get_board_parts {pattern args} { addnn_stub_match $::env(STUB_BOARD_PARTS) $pattern }
proc get_ipdefs {args} { addnn_stub_match $::env(STUB_IPDEFS) [lindex $args end] }
proc create_bd_cell {args} { record create_bd_cell {*}$args; return [lindex $args end] }
proc get_bd_cells {name} { return $name }
proc get_bd_pins {name} { return $name }
proc get_bd_intf_pins {name} { return $name }
proc get_files {name} { return $name }
proc get_runs {name} { return $name }
proc current_project {} { return addnn }
proc current_fileset {} { return sources_1 }
proc get_property {name object} { return "100%" }
proc make_wrapper {args} { record make_wrapper {*}$args; return wrapper.v }
proc launch_runs {args} {
    record launch_runs {*}$args
    set v $::here/vivado
    file mkdir $v/$::base.runs/impl_1 $v/$::base.gen/sources_1/bd/$::base/hw_handoff
    close [open $v/$::base.runs/impl_1/${::base}_wrapper.bit w]
    close [open $v/$::base.gen/sources_1/bd/$::base/hw_handoff/$::base.hwh w]
}
set script [lindex $argv 0]
set argv [lrange $argv 1 end]
set argc [llength $argv]
source $script
