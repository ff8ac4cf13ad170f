"""DSP48E2 packing of AdderNet SAD operations: SystemVerilog units (``sv/``), their
bit-accurate numpy (``model``) and C++ (``cmodel/sad_units.h``) models, the simulation runner
(``sim``), stimulus (``vectors``) and the yosys resource report (``report``, ``addnn rtl report``).

Design decisions (the SV files say the same where the logic is):

- Operands are 8-bit: uint8 activations and weights on one scale (the ``addnn`` preset) or,
  with ``SIGNED=1``, int8. Signed units flip bit 7 of both operands (int8 -> offset binary),
  which leaves every difference unchanged, so one datapath serves both.
- Each lane forms d = x - w as 9-bit two's complement (|d| <= 255), then
  ``acc <= (first ? 0 : acc) + (d[7:0] ^ {8{s}}) + s`` with s the sign: the conditional
  complement lives in the accumulator's LUTs and s is its carry-in, so |d| and the sum are one
  carry chain (``sad_absacc``). The unit outputs the SAD >= 0; the numeric contract's
  accumulator is its negation, which the consumer folds into its BN map.
- Accumulators are 18 bits: ResNet-20's longest window is 64 x 3 x 3 = 576 terms of at most
  255, i.e. 146,880 < 2**18. They wrap modulo 2**18 (1,028 full-scale terms would be needed).
- What the DSP does: only the subtraction. Quad-INT12 puts four zero-extended differences in
  the four FOUR12 lanes (ALUMODE 0011, Z = C = x, X = A:B = w); the lane's P[8] is the sign.
  Octo-INT8 splits each 12-bit lane into 8 bits of an even lane, a transfer bit and the upper
  3 bits of an odd lane. The odd lane's low 5 bits are a LUT subtractor before the DSP whose
  borrow enters the DSP lane through the transfer bit (Z = ~c, X = c: +-256 outweighs the even
  lane's difference, so the borrow into the upper bits is exactly the LUT part's); its constant
  carry-in is swapped with operand bit 0, so bit 0 needs no LUT and the 5 bits cost 4 LUTs.
  The even lane's sign arrives inverted (P[8] = x >= w) and sad_absacc takes it through an
  extra chain position instead of an inverter; the odd lane's CARRYOUT is its sign as it is
  (the DSP's upper bits are the complement of the odd lane's, folded into the LUTs). In DSP
  lane 0 the even lane's low 2 bits are such a subtractor too, its borrow entering as CARRYIN
  (lane 0 only), which shortens that odd lane's LUT part to 3 bits. Octo8 thus costs 15 LUTs
  per DSP beyond Quad12, one per LUT-side bit except each chain's bit 0. A 12-bit lane
  cannot hold a 576-term SAD, and |.| needs a per-lane add-or-subtract choice that the DSP's
  one shared ALUMODE cannot make, so |.| and accumulation are LUT/carry-chain logic in every
  variant.
- Every variant has one register stage before the accumulator (the DSP's P register, or the
  LUT lane's difference register), so all have the same latency: SADs two cycles after the
  window's last term.
"""
