// addnn HLS kernels, C simulation only: the checked (and, with ADDNN_BOUNDED, bounded) stream
// and the threaded dataflow region. See addnn_stream.h for what each mode checks.
#ifndef ADDNN_SIM_H
#define ADDNN_SIM_H

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <string>
#include <vector>

#ifdef ADDNN_BOUNDED
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#endif

#include "addnn_types.h"

namespace addnn {
namespace sim {

// Exit statuses of the simulation binary, read by `addnn csim`.
enum Exit { kMismatch = 1, kUsage = 2, kEmptyRead = 3, kDeadlock = 4, kProtocol = 5 };

class stream_base;

struct blocked_op {
    long id;
    std::string process, stream, what;
};

struct state {
#ifdef ADDNN_BOUNDED
    std::mutex m;
#endif
    int running = 0;                  // threads of the current dataflow region
    long next_id = 0;
    bool deadlock = false;
    std::vector<blocked_op> blocked;
    std::vector<stream_base*> live;
    std::vector<std::string> errors;  // left-over data, found when streams are destroyed
    bool dumping = false;
    std::map<std::string, std::vector<int64_t> > dumps;
    std::map<const char*, long long> iterations;   // per process label (ADDNN_COUNT_LOOPS)
};

inline state& global() {
    static state s;
    return s;
}

#ifdef ADDNN_BOUNDED
inline const char*& current_process() {
    thread_local const char* p = "testbench";
    return p;
}
typedef std::unique_lock<std::mutex> lock_t;
#define ADDNN_SIM_LOCK() addnn::sim::lock_t addnn_lock_(addnn::sim::global().m)
#else
inline const char*& current_process() {
    static const char* p = "testbench";
    return p;
}
#define ADDNN_SIM_LOCK()
#endif

struct deadlock_abort {};

class stream_base {
public:
    explicit stream_base(const char* name) : name_(name) {
        ADDNN_SIM_LOCK();
        global().live.push_back(this);
    }
    virtual ~stream_base() {
        ADDNN_SIM_LOCK();
        std::vector<stream_base*>& live = global().live;
        for (size_t i = 0; i < live.size(); ++i) {
            if (live[i] == this) { live.erase(live.begin() + long(i)); break; }
        }
    }
    const std::string& name() const { return name_; }
    virtual size_t occupancy() const = 0;
    virtual void wake() = 0;
    void set_depth(int depth) { depth_ = size_t(depth); }
    size_t depth() const { return depth_; }

protected:
    std::string name_;
    size_t depth_ = 0;      // 0: unbounded
};

template <class T, int N>
inline void append_values(std::vector<int64_t>& out, const vec<T, N>& x) {
    for (int i = 0; i < N; ++i) out.push_back(as_i64(x.v[i]));
}

#ifdef ADDNN_BOUNDED
// The deadlock report: every blocked process with the stream it waits on, and each full
// stream's fill level.
inline void report_deadlock() {
    state& g = global();
    std::fprintf(stderr, "addnn csim: DEADLOCK: every dataflow process is blocked\n");
    for (size_t i = 0; i < g.live.size(); ++i) {
        stream_base* s = g.live[i];
        if (s->depth() && s->occupancy() >= s->depth()) {
            std::fprintf(stderr, "  full stream '%s' (%zu of depth %zu)\n", s->name().c_str(),
                         s->occupancy(), s->depth());
        }
    }
    for (size_t i = 0; i < g.blocked.size(); ++i) {
        std::fprintf(stderr, "  process %s blocked on %s stream '%s'\n",
                     g.blocked[i].process.c_str(), g.blocked[i].what.c_str(),
                     g.blocked[i].stream.c_str());
    }
}

// Called with the lock held when a process blocks or ends: all remaining processes blocked
// means none can ever proceed.
inline void check_deadlock() {
    state& g = global();
    if (!g.deadlock && g.running > 0 && int(g.blocked.size()) == g.running) {
        g.deadlock = true;
        report_deadlock();
        for (size_t i = 0; i < g.live.size(); ++i) g.live[i]->wake();
    }
}

// A process that a read or write made runnable is no longer blocked, even before it wakes:
// the notifier removes its entry, so a deadlock is never declared on a stale count.
inline void unblock(const std::string& stream, const char* what) {
    std::vector<blocked_op>& b = global().blocked;
    for (size_t i = b.size(); i-- > 0;) {
        if (b[i].stream == stream && b[i].what == what) b.erase(b.begin() + long(i));
    }
}

inline void wait_blocked(lock_t& lk, std::condition_variable& cv, const std::string& stream,
                         const char* what) {
    state& g = global();
    const long id = g.next_id++;
    g.blocked.push_back(blocked_op{id, current_process(), stream, what});
    check_deadlock();
    if (!g.deadlock) cv.wait(lk);
    for (size_t i = 0; i < g.blocked.size(); ++i) {
        if (g.blocked[i].id == id) { g.blocked.erase(g.blocked.begin() + long(i)); break; }
    }
    if (g.deadlock) throw deadlock_abort();
}
#endif

template <class T>
class checked_stream : public stream_base {
public:
    explicit checked_stream(const char* name = "stream") : stream_base(name) {}
    ~checked_stream() {
        if (!q_.empty()) {
            ADDNN_SIM_LOCK();
            global().errors.push_back("stream '" + name_ + "' holds " +
                                      std::to_string(q_.size()) + " element(s) at the end");
        }
    }

    bool empty() {
        ADDNN_SIM_LOCK();
        return q_.empty();
    }
    bool full() {
        ADDNN_SIM_LOCK();
        return depth_ && q_.size() >= depth_;
    }
    size_t occupancy() const { return q_.size(); }

    T read() {
        ADDNN_SIM_LOCK();
#ifdef ADDNN_BOUNDED
        while (q_.empty()) wait_blocked(addnn_lock_, not_empty_, name_, "read from empty");
#else
        if (q_.empty()) {
            std::fprintf(stderr, "addnn csim: process %s read from empty stream '%s'\n",
                         current_process(), name_.c_str());
            std::exit(kEmptyRead);
        }
#endif
        T x = q_.front();
        q_.pop_front();
#ifdef ADDNN_BOUNDED
        unblock(name_, "write to full");
        not_full_.notify_all();
#endif
        return x;
    }
    void read(T& x) { x = read(); }

    void write(const T& x) {
        ADDNN_SIM_LOCK();
#ifdef ADDNN_BOUNDED
        while (depth_ && q_.size() >= depth_) {
            wait_blocked(addnn_lock_, not_full_, name_, "write to full");
        }
#endif
        q_.push_back(x);
        if (global().dumping) append_values(global().dumps[name_], x);
#ifdef ADDNN_BOUNDED
        unblock(name_, "read from empty");
        not_empty_.notify_all();
#endif
    }
    void operator>>(T& x) { x = read(); }
    void operator<<(const T& x) { write(x); }

    void wake() {
#ifdef ADDNN_BOUNDED
        not_empty_.notify_all();
        not_full_.notify_all();
#endif
    }

private:
    std::deque<T> q_;
#ifdef ADDNN_BOUNDED
    std::condition_variable not_empty_, not_full_;
#endif
};

#ifdef ADDNN_BOUNDED
// One thread per dataflow process. The threads start together in join(), once every process
// is counted, so a deadlock is judged on the whole region; join() then waits for all and ends
// the simulation on deadlock.
class dataflow_region {
public:
    template <class F>
    void spawn(const char* label, F f) {
        bodies_.push_back(std::make_pair(label, std::function<void()>(f)));
    }
    void join() {
        {
            ADDNN_SIM_LOCK();
            global().running += int(bodies_.size());
        }
        std::vector<std::thread> threads;
        for (size_t i = 0; i < bodies_.size(); ++i) {
            threads.emplace_back([this, i]() {
                current_process() = bodies_[i].first;
                try {
                    bodies_[i].second();
                } catch (const deadlock_abort&) {
                }
                ADDNN_SIM_LOCK();
                global().running--;
                check_deadlock();
            });
        }
        for (size_t i = 0; i < threads.size(); ++i) threads[i].join();
        if (global().deadlock) std::exit(kDeadlock);
    }

private:
    std::vector<std::pair<const char*, std::function<void()> > > bodies_;
};
#endif

inline void count_iteration() {
    ADDNN_SIM_LOCK();
    ++global().iterations[current_process()];
}

// Errors recorded since the last call (left-over stream data), emptied.
inline std::vector<std::string> take_errors() {
    ADDNN_SIM_LOCK();
    std::vector<std::string> e;
    e.swap(global().errors);
    return e;
}

}  // namespace sim
}  // namespace addnn

#endif  // ADDNN_SIM_H
