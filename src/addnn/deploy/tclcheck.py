"""The block-design Tcl checked without Vivado: parsed as Tcl, and every cell, pin, interface
and CONFIG parameter it names tested against the IPs' documented ports (``ip_ports.json``) and
the HLS IP's own top-level ports (project.json).

What it finds: a misspelled or nonexistent pin, an interface joined master to master, a port
that is enabled but left unconnected (Vivado's validation error) or disabled but used, an IP
required port left open, stream widths that differ between the DMA and the accelerator, and a
DMA length register that cannot hold a frame. It does not find what only Vivado knows
(timing, the preset's exact contents, placement).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from addnn.deploy.pynq_driver import frame_bytes
from addnn.errors import AddnnError

CATALOG = Path(__file__).with_name("ip_ports.json")


# -- a Tcl parser for the subset scripts use: words, braces, quotes, [commands], comments -----

@dataclass
class Word:
    """A Tcl word: literal text, with the commands substituted into it."""
    text: str
    commands: list[list["Word"]] = field(default_factory=list)
    braced: bool = False


def parse(script: str) -> list[list[Word]]:
    """The script's commands, each a list of words. Raises on unbalanced braces, brackets
    or quotes."""
    commands, _ = _script(script, 0, None)
    return commands


def _script(s: str, i: int, close: str | None) -> tuple[list[list[Word]], int]:
    commands: list[list[Word]] = []
    words: list[Word] = []
    while i < len(s):
        c = s[i]
        if close is not None and c == close:
            if words:
                commands.append(words)
            return commands, i + 1
        if c in " \t":
            i += 1
        elif c == "\\" and i + 1 < len(s) and s[i + 1] == "\n":
            i += 2
        elif c in "\n;":
            if words:
                commands.append(words)
            words = []
            i += 1
        elif c == "#" and not words:
            while i < len(s) and s[i] != "\n":
                i += 1
        else:
            word, i = _word(s, i, close)
            words.append(word)
    if close is not None:
        raise AddnnError(f"Tcl: missing {close!r}")
    if words:
        commands.append(words)
    return commands, i


def _word(s: str, i: int, close: str | None) -> tuple[Word, int]:
    if s[i] == "{":
        depth, j = 1, i + 1
        while j < len(s) and depth:
            if s[j] == "\\":
                j += 2
                continue
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            j += 1
        if depth:
            raise AddnnError("Tcl: unbalanced braces")
        return Word(s[i + 1:j - 1], braced=True), j
    quoted = s[i] == '"'
    j = i + 1 if quoted else i
    text, cmds = [], []
    while j < len(s):
        c = s[j]
        if quoted and c == '"':
            return Word("".join(text), cmds), j + 1
        if not quoted and (c in " \t\n;" or (close is not None and c == close)):
            break
        if c == "\\" and j + 1 < len(s):
            if s[j + 1] == "\n":
                if not quoted:
                    break
                j += 2
                continue
            text.append(s[j:j + 2])
            j += 2
        elif c == "[":
            inner, j = _script(s, j + 1, "]")
            cmds.extend(inner)
            text.append("[...]")
        else:
            text.append(c)
            j += 1
    if quoted:
        raise AddnnError("Tcl: unbalanced quotes")
    return Word("".join(text), cmds), j


def walk(commands: list[list[Word]]):
    """Every command, nested ones ([...]) and those in braced bodies included."""
    for cmd in commands:
        yield cmd
        for w in cmd:
            yield from walk(w.commands)
            if w.braced and cmd[0].text in ("if", "foreach", "proc", "for", "while", "else",
                                           "elseif", "catch"):
                try:
                    yield from walk(parse(w.text))
                except AddnnError:
                    pass        # a braced literal that is not a script


# -- the check -----------------------------------------------------------------------------

def _catalog() -> dict:
    return json.loads(CATALOG.read_text())["ips"]


def hls_ip(meta: dict) -> dict:
    """The generated IP in the catalog's form, from project.json's ports."""
    ports = meta["ports"]
    modes = {n: i["mode"] for n, i in ports["interfaces"].items()}
    signals = [f"{n}_{sig}" for n, i in ports["interfaces"].items() for sig in i["signals"]]
    return {"intf_pins": modes, "pins": [ports["clock"], ports["reset"], *signals],
            "config": [], "required": [*modes, ports["clock"], ports["reset"]],
            "source": "project.json ports (UG1399 naming of the top's arguments)"}


def _literal(w: Word) -> str | None:
    return None if w.commands else w.text


def _ref_names(cmd: list[Word], getter: str) -> list[str]:
    """``cell/pin`` names of [getter ...] sub-commands in ``cmd``'s words."""
    return [sub[1].text for w in cmd for sub in w.commands
            if sub and sub[0].text == getter and len(sub) > 1]


def check_block_design(script: str, meta: dict) -> dict:
    """The names the script uses, checked; ``errors`` lists each problem in one line."""
    catalog = _catalog()
    commands = list(walk(parse(script)))
    errors: list[str] = []
    cells: dict[str, dict] = {}
    config: dict[str, dict[str, str]] = {}
    for cmd in commands:
        if cmd[0].text != "create_bd_cell":
            continue
        vlnv = [w for w in cmd if w.commands and w.commands[0][0].text == "addnn_ipdef"]
        name = _literal(cmd[-1])
        if not vlnv or name is None:
            errors.append("create_bd_cell without an addnn_ipdef VLNV pattern and a name")
            continue
        pattern = vlnv[0].commands[0][1].text
        key = ":".join(pattern.split(":")[:3])
        if pattern.split(":")[2] == meta["top"]:
            cells[name] = hls_ip(meta)
        elif key in catalog:
            cells[name] = catalog[key]
        else:
            errors.append(f"cell {name}: IP {pattern} is not in the port catalog")
            continue
        config[name] = {}
    for cmd in commands:
        if cmd[0].text == "set_property" and len(cmd) > 2 and cmd[1].text == "-dict":
            targets = _ref_names(cmd, "get_bd_cells")
            pairs = [w for sub in cmd[2].commands if sub[0].text == "list" for w in sub[1:]]
            for cell in targets:
                if cell not in cells:
                    errors.append(f"set_property on unknown cell {cell}")
                    continue
                for k in range(0, len(pairs) - 1, 2):
                    key = pairs[k].text.removeprefix("CONFIG.")
                    if key not in cells[cell]["config"]:
                        errors.append(f"{cell}: no parameter CONFIG.{key}")
                    config[cell][key] = pairs[k + 1].text
    used: dict[str, set[str]] = {"intf": set(), "pin": set()}
    connected: set[str] = set()
    for cmd in commands:
        if cmd[0].text in ("connect_bd_net", "connect_bd_intf_net"):
            connected.update(_ref_names(cmd, "get_bd_pins") + _ref_names(cmd, "get_bd_intf_pins"))
        for getter, kind in (("get_bd_intf_pins", "intf"), ("get_bd_pins", "pin")):
            for ref in _ref_names(cmd, getter):
                cell, _, pin = ref.partition("/")
                if cell not in cells:
                    errors.append(f"{ref}: no cell {cell}")
                    continue
                mode = _pin_mode(cells[cell], config[cell], pin, kind)
                if mode is None:
                    errors.append(f"{ref}: {cell} has no {'interface' if kind == 'intf' else 'pin'}"
                                  f" {pin}")
                used[kind].add(ref)
        if cmd[0].text == "connect_bd_intf_net":
            ends = _ref_names(cmd, "get_bd_intf_pins")
            modes = sorted(_pin_mode(cells.get(e.partition("/")[0], {}),
                                     config.get(e.partition("/")[0], {}), e.partition("/")[2],
                                     "intf") or "?" for e in ends)
            if len(ends) != 2 or modes != ["master", "slave"]:
                errors.append(f"connect_bd_intf_net {' '.join(ends)}: needs one master and one "
                              f"slave, has {', '.join(modes)}")
    for cell, ip in cells.items():
        for pin in ip.get("required", []):
            if f"{cell}/{pin}" not in connected:
                errors.append(f"{cell}/{pin} is not connected")
        for param, pins in ip.get("ports_of", {}).items():
            on = config[cell].get(param)
            for pin in pins:
                if on == "1" and f"{cell}/{pin}" not in connected:
                    errors.append(f"{cell}/{pin} is enabled (CONFIG.{param} 1) but not connected")
                if on == "0" and f"{cell}/{pin}" in connected:
                    errors.append(f"{cell}/{pin} is used but CONFIG.{param} is 0")
    errors += _widths(cells, config, meta)
    return {"errors": errors, "cells": sorted(cells), "interfaces": sorted(used["intf"]),
            "pins": sorted(used["pin"]), "commands": len(commands)}


def _pin_mode(ip: dict, cfg: dict, pin: str, kind: str) -> str | None:
    """"master"/"slave"/"pin" when ``pin`` exists on the IP as ``kind``, else None."""
    if kind == "intf" and pin in ip.get("intf_pins", {}):
        return ip["intf_pins"][pin]
    if kind == "pin" and pin in ip.get("pins", []):
        return "pin"
    for pattern, (mode, param) in ip.get("indexed", {}).items():
        m = re.fullmatch(pattern, pin)
        if m and (mode == "pin") == (kind == "pin"):
            count = int(cfg.get(param, ip.get("defaults", {}).get(param, 1)))
            return mode if int(m.group(1)) < count else None
    return None


def _widths(cells: dict, config: dict, meta: dict) -> list[str]:
    errors = []
    tdata = meta["ports"]["interfaces"]
    bits = {i["mode"]: i["signals"]["TDATA"] for i in tdata.values()}
    frame = max(frame_bytes(meta["input"]), frame_bytes(meta["output"]))
    for cell, ip in cells.items():
        if "c_sg_length_width" not in ip["config"]:
            continue
        cfg = config[cell]
        for key, mode in (("c_m_axis_mm2s_tdata_width", "slave"),
                          ("c_s_axis_s2mm_tdata_width", "master")):
            if key in cfg and int(cfg[key]) != bits.get(mode):
                errors.append(f"{cell}: CONFIG.{key} {cfg[key]} but the accelerator's stream "
                              f"is {bits.get(mode)} bits")
        width = int(cfg.get("c_sg_length_width", 14))       # PG021's default
        if not 8 <= width <= 26 or (1 << width) - 1 < frame:
            errors.append(f"{cell}: a {width}-bit length register cannot carry a {frame}-byte "
                          "frame (8..26 bits)")
    return errors
