// addnn HLS kernels: the stream type between dataflow processes, and the process macros.
//
// Under __SYNTHESIS__ `addnn::stream<T>` is `hls::stream<T>` (one parameter; depths come only
// from `#pragma HLS STREAM`). In C simulation it is `addnn::sim::checked_stream<T>`, a plain
// C++ queue that
// - stops the simulation on a read from an empty stream (the stub stream of the hls4ml wheel
//   only warns and returns a default value);
// - records, when it is destroyed non-empty, that data was left over (the testbench fails);
// - with ADDNN_BOUNDED, holds at most its declared depth: reads and writes block, each
//   dataflow process runs in its own thread, and a state in which every process is blocked is
//   reported as a deadlock, naming the full and empty streams (Vitis C simulation runs the
//   processes one after another on unbounded streams and cannot show one);
// - can record every element it carries (addnn::sim::dump_to), to find the first stage that
//   differs from the integer graph.
// The top-level AXI4-Stream ports stay hls::stream in every build.
#ifndef ADDNN_STREAM_H
#define ADDNN_STREAM_H

#include "hls_stream.h"

#include "addnn_types.h"

#ifdef ADDNN_SYNTH

namespace addnn {
template <class T> using stream = hls::stream<T>;
}  // namespace addnn
#define ADDNN_STREAM_DEPTH(var, depth)
#define ADDNN_DATAFLOW_BEGIN()
#define ADDNN_PROCESS(label, ...) __VA_ARGS__;
#define ADDNN_DATAFLOW_END()

#else  // C simulation

#include "addnn_sim.h"

namespace addnn {
template <class T> using stream = sim::checked_stream<T>;
}  // namespace addnn
// The call sites carry no semicolons: under __SYNTHESIS__ the region holds only the stream
// declarations and the process calls.
#define ADDNN_STREAM_DEPTH(var, depth) (var).set_depth(depth);
#ifdef ADDNN_BOUNDED
#define ADDNN_DATAFLOW_BEGIN() addnn::sim::dataflow_region addnn_region_;
#define ADDNN_PROCESS(label, ...) addnn_region_.spawn(label, [&]() { __VA_ARGS__; });
#define ADDNN_DATAFLOW_END() addnn_region_.join();
#else
#define ADDNN_DATAFLOW_BEGIN()
#define ADDNN_PROCESS(label, ...) addnn::sim::current_process() = label; __VA_ARGS__;
#define ADDNN_DATAFLOW_END() addnn::sim::current_process() = "testbench";
#endif

#endif  // ADDNN_SYNTH

// The counting build (ADDNN_COUNT_LOOPS, C simulation only): every iteration of a pipelined
// loop, and every input position of a line buffer, counted per process, which is what the
// cycle model of addnn.estimate predicts.
#if defined(ADDNN_COUNT_LOOPS) && !defined(ADDNN_SYNTH)
#define ADDNN_COUNT_ITERATION() addnn::sim::count_iteration();
#else
#define ADDNN_COUNT_ITERATION()
#endif

#endif  // ADDNN_STREAM_H
