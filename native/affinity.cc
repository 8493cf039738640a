// Thread pinning for poll-mode workers: each worker thread pins itself to the
// CPU the core assignment gave it (pthread_setaffinity_np on the calling thread,
// which is the worker's own thread when called from its JS).
#include <pthread.h>
#include <sched.h>

#include "common.h"

namespace vg {

bool pin_thread(int cpu, std::string& err) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) {
    err = "cpu " + std::to_string(cpu) + " is out of range";
    return false;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  int r = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (r != 0) {
    err = r == EINVAL ? "cpu " + std::to_string(cpu) + " is not available to this process"
                      : errno_text("pthread_setaffinity_np", r);
    return false;
  }
  return true;
}

bool thread_affinity(std::vector<int>& cpus, std::string& err) {
  cpu_set_t set;
  CPU_ZERO(&set);
  int r = pthread_getaffinity_np(pthread_self(), sizeof set, &set);
  if (r != 0) {
    err = errno_text("pthread_getaffinity_np", r);
    return false;
  }
  cpus.clear();
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return true;
}

}  // namespace vg
