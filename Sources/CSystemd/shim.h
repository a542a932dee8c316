#ifndef SYSTEMK_CSYSTEMD_SHIM_H
#define SYSTEMK_CSYSTEMD_SHIM_H

// libsystemd's C API as one Clang module. Only the non-variadic functions are usable from Swift
// (sd_bus_message_append/read and sd_journal_send are variadic and are not imported).
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>

// Not libsystemd, but Linux C API that Swift's Glibc module leaves out, for exec probes
// (ExecProbeProcess): pidfd_open waits for the process and its output in one poll(2).
#include <sys/pidfd.h>
#include <spawn.h>
// glibc declares these two only with _GNU_SOURCE, which Swift's Glibc module is built without.
int pipe2(int pipefd[2], int flags);
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

#endif
