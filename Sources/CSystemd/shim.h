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
#include <sys/syscall.h>
#include <spawn.h>
#include <unistd.h>
// malloc_trim (HeapTrimmer): glibc's, not in Swift's Glibc module.
#include <malloc.h>
// glibc declares these two only with _GNU_SOURCE, which Swift's Glibc module is built without.
int pipe2(int pipefd[2], int flags);
int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

// An exec probe's thread entering a container's context. Raw system calls: they change the calling
// thread only, where glibc's setgroups/setresgid/setresuid change every thread of the process.
static inline int systemk_thread_unshare_fs(void) { return (int)syscall(SYS_unshare, 0x00000200 /* CLONE_FS */); }
static inline int systemk_thread_setns_mount(int fd) { return (int)syscall(SYS_setns, fd, 0x00020000 /* CLONE_NEWNS */); }
static inline int systemk_thread_setgroups(size_t count, const gid_t *groups) {
    return (int)syscall(SYS_setgroups, count, groups);
}
static inline int systemk_thread_setresgid(gid_t gid) { return (int)syscall(SYS_setresgid, gid, gid, gid); }
static inline int systemk_thread_setresuid(uid_t uid) { return (int)syscall(SYS_setresuid, uid, uid, uid); }

#endif
