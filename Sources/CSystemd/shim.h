#ifndef SYSTEMK_CSYSTEMD_SHIM_H
#define SYSTEMK_CSYSTEMD_SHIM_H

// libsystemd's C API as one Clang module. Only the non-variadic functions are usable from Swift
// (sd_bus_message_append/read and sd_journal_send are variadic and are not imported).
#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>

#endif
