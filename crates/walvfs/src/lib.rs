//! A SQLite VFS over the default one that gathers the frames of a WAL commit into one write.
//!
//! SQLite appends a frame to the write-ahead log with two `pwrite`s: its 24-byte header, then the
//! page. A frame is 4,120 bytes, so neither write is aligned to the kernel's 4 KiB pages: every
//! frame costs the kernel two system calls and three page-cache lookups, locks and dirty-marks.
//! For a feed's small commits, that was 29 % of the writer thread's time. This VFS passes every
//! file to the default VFS untouched except the WAL, whose consecutive writes it holds in a
//! buffer and writes with one call when the commit frame's page arrives (or at 1 MiB, or before
//! any other operation on the file).
//!
//! Why that keeps SQLite's guarantees: a WAL commit becomes visible to other connections only
//! when the writer updates the wal-index header in shared memory, which SQLite does after it has
//! written every frame of the commit — so after this VFS has written them too. A failed write is
//! reported by the `xWrite` of the commit frame's page, so SQLite sees the commit fail exactly as
//! if its own write had failed. Reads, syncs, truncation, size queries, file controls and closing
//! write what is held first, so nothing can observe the file without it. A commit frame is
//! recognised by its header: 24 bytes whose second field (the database size after the commit) is
//! not zero. Without power-safe overwrite (the `psow=0` URI parameter; not the default), a
//! `synchronous=FULL` commit is padded to a sector boundary and SQLite splits the write that
//! crosses it around a sync; frames can then no longer be told apart, so from the first write that
//! is not a whole header or page, that file's writes go straight through.

use rusqlite::ffi;
use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

/// The name connections open the VFS by.
pub const NAME: &str = "weave-walbuf";
const NAME_C: &CStr = c"weave-walbuf";

/// Bytes held before they are written anyway (a bulk commit writes tens of megabytes).
const MAX_HELD: usize = 1 << 20;
/// The largest write handed to the default VFS, whose `pwrite` takes at most 128 KiB - 1.
const PIECE: usize = 31 * 4096;
/// The size of a WAL frame header.
const FRAME_HEADER: usize = 24;
/// The size of the WAL file's own header (at offset 0).
const LOG_HEADER: usize = 32;
/// The smallest page SQLite writes.
const MIN_PAGE: usize = 512;

/// A WAL file: this header, then the default VFS's own file in the same allocation.
#[repr(C)]
struct WalFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    held: Vec<u8>,
    /// The file offset of `held[0]`.
    start: i64,
    /// A commit frame's header is held: write once its page is.
    commit: bool,
    /// A write that was not a whole frame header, page or log header was seen: SQLite splits
    /// writes only to sync in the middle of one (padding a commit to a sector boundary, without
    /// power-safe overwrite), where frames cannot be told apart, so from then on every write goes
    /// straight through.
    through: bool,
}

/// Where the default VFS's file starts inside ours (8-byte aligned).
const REAL_OFFSET: usize = std::mem::size_of::<WalFile>().next_multiple_of(8);

struct Registered {
    base: *mut ffi::sqlite3_vfs,
}
// SAFETY: the pointer is to SQLite's default VFS, a static object that is never freed and that
// SQLite itself uses from every thread.
unsafe impl Send for Registered {}
unsafe impl Sync for Registered {}

static REGISTERED: OnceLock<Result<Registered, c_int>> = OnceLock::new();

/// Starts writing the file's dirty pages to the disk, without waiting for them (Linux
/// `sync_file_range(SYNC_FILE_RANGE_WRITE)`; elsewhere nothing). A later `fdatasync` then waits
/// only for what is still in flight and the device's flush: a WAL commit's writeback can start as
/// the commit ends, on the writer's thread, instead of when the thread that flushes next runs.
/// It makes nothing durable by itself.
pub fn start_writeback(file: &std::fs::File) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is open for the duration of the call (borrowed from `file`);
        // the call reads no memory of ours.
        let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    Ok(())
}

/// Registers the VFS (once; later calls return the first call's result). Connections use it
/// when opened with [`NAME`]; the default VFS is unchanged.
pub fn register() -> Result<(), c_int> {
    REGISTERED.get_or_init(|| unsafe { register_once() }).as_ref().map(|_| ()).map_err(|e| *e)
}

unsafe fn register_once() -> Result<Registered, c_int> {
    let base = ffi::sqlite3_vfs_find(std::ptr::null());
    if base.is_null() {
        return Err(ffi::SQLITE_ERROR);
    }
    let mut vfs = *base;
    vfs.zName = NAME_C.as_ptr();
    vfs.pNext = std::ptr::null_mut();
    vfs.szOsFile = c_int::try_from(REAL_OFFSET).map_err(|_| ffi::SQLITE_ERROR)? + (*base).szOsFile;
    vfs.xOpen = Some(open);
    let vfs = Box::leak(Box::new(vfs));
    let rc = ffi::sqlite3_vfs_register(vfs, 0);
    if rc != ffi::SQLITE_OK {
        return Err(rc);
    }
    Ok(Registered { base })
}

fn base_vfs() -> *mut ffi::sqlite3_vfs {
    match REGISTERED.get() {
        Some(Ok(r)) => r.base,
        _ => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = base_vfs();
    let Some(base_open) = base.as_ref().and_then(|b| b.xOpen) else { return ffi::SQLITE_ERROR };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Every other file is the default VFS's own, with its own methods.
        return base_open(base, name, file, flags, out_flags);
    }
    (*file).pMethods = std::ptr::null();
    let real = file.cast::<u8>().add(REAL_OFFSET).cast::<ffi::sqlite3_file>();
    (*real).pMethods = std::ptr::null();
    let rc = base_open(base, name, real, flags, out_flags);
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    let wal =
        WalFile { base: ffi::sqlite3_file { pMethods: &WAL_METHODS }, real, held: Vec::new(), start: 0, commit: false, through: false };
    std::ptr::write(file.cast::<WalFile>(), wal);
    ffi::SQLITE_OK
}

/// The WAL file behind `f`.
unsafe fn wal<'a>(f: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    &mut *f.cast::<WalFile>()
}

/// The default VFS's methods of the real file.
unsafe fn methods<'a>(w: &WalFile) -> &'a ffi::sqlite3_io_methods {
    &*(*w.real).pMethods
}

/// Writes what is held, in pieces the default VFS takes whole (its `pwrite` is at most 128 KiB).
unsafe fn write_held(w: &mut WalFile) -> c_int {
    w.commit = false;
    let Some(write) = methods(w).xWrite else { return ffi::SQLITE_IOERR_WRITE };
    let mut offset = w.start;
    let mut rc = ffi::SQLITE_OK;
    for piece in w.held.chunks(PIECE) {
        let len = c_int::try_from(piece.len()).unwrap_or(c_int::MAX);
        rc = write(w.real, piece.as_ptr().cast::<c_void>(), len, offset);
        if rc != ffi::SQLITE_OK {
            break;
        }
        offset += i64::from(len);
    }
    w.held.clear();
    rc
}

unsafe extern "C" fn x_write(f: *mut ffi::sqlite3_file, data: *const c_void, amt: c_int, offset: i64) -> c_int {
    let w = wal(f);
    let Ok(n) = usize::try_from(amt) else { return ffi::SQLITE_IOERR_WRITE };
    let whole = n == FRAME_HEADER || (n == LOG_HEADER && offset == 0) || (n >= MIN_PAGE && n.is_power_of_two());
    if w.through || !whole {
        w.through = true;
        let rc = write_held(w);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
        return match methods(w).xWrite {
            Some(write) => write(w.real, data, amt, offset),
            None => ffi::SQLITE_IOERR_WRITE,
        };
    }
    let bytes = std::slice::from_raw_parts(data.cast::<u8>(), n);
    let end = w.start + i64::try_from(w.held.len()).unwrap_or(i64::MAX);
    if !w.held.is_empty() && offset != end {
        let rc = write_held(w);
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    if w.held.is_empty() {
        w.start = offset;
    }
    w.held.extend_from_slice(bytes);
    if n == FRAME_HEADER && bytes[4..8] != [0, 0, 0, 0] {
        w.commit = true;
        return ffi::SQLITE_OK;
    }
    if w.commit || w.held.len() >= MAX_HELD {
        return write_held(w);
    }
    ffi::SQLITE_OK
}

/// Defines a method that writes what is held and then calls the real file's.
macro_rules! flushing {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*)) => {
        unsafe extern "C" fn $name(f: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            let w = wal(f);
            let rc = write_held(w);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            match methods(w).$field {
                Some(m) => m(w.real, $($arg),*),
                None => ffi::SQLITE_IOERR,
            }
        }
    };
}

/// Defines a method that only calls the real file's.
macro_rules! forwarding {
    ($name:ident, $field:ident, ($($arg:ident: $ty:ty),*), $missing:expr) => {
        unsafe extern "C" fn $name(f: *mut ffi::sqlite3_file, $($arg: $ty),*) -> c_int {
            let w = wal(f);
            match methods(w).$field {
                Some(m) => m(w.real, $($arg),*),
                None => $missing,
            }
        }
    };
}

flushing!(x_read, xRead, (buf: *mut c_void, amt: c_int, offset: i64));
flushing!(x_truncate, xTruncate, (size: i64));
flushing!(x_sync, xSync, (flags: c_int));
flushing!(x_file_size, xFileSize, (size: *mut i64));
flushing!(x_file_control, xFileControl, (op: c_int, arg: *mut c_void));
flushing!(x_fetch, xFetch, (offset: i64, amt: c_int, pp: *mut *mut c_void));
forwarding!(x_lock, xLock, (level: c_int), ffi::SQLITE_OK);
forwarding!(x_unlock, xUnlock, (level: c_int), ffi::SQLITE_OK);
forwarding!(x_check_reserved_lock, xCheckReservedLock, (out: *mut c_int), ffi::SQLITE_OK);
forwarding!(x_sector_size, xSectorSize, (), 4096);
forwarding!(x_device_characteristics, xDeviceCharacteristics, (), 0);
forwarding!(x_shm_map, xShmMap, (page: c_int, size: c_int, extend: c_int, pp: *mut *mut c_void), ffi::SQLITE_IOERR);
forwarding!(x_shm_lock, xShmLock, (offset: c_int, n: c_int, flags: c_int), ffi::SQLITE_IOERR);
forwarding!(x_shm_unmap, xShmUnmap, (delete: c_int), ffi::SQLITE_OK);
forwarding!(x_unfetch, xUnfetch, (offset: i64, p: *mut c_void), ffi::SQLITE_OK);

unsafe extern "C" fn x_shm_barrier(f: *mut ffi::sqlite3_file) {
    let w = wal(f);
    if let Some(m) = methods(w).xShmBarrier {
        m(w.real);
    }
}

unsafe extern "C" fn x_close(f: *mut ffi::sqlite3_file) -> c_int {
    let w = wal(f);
    let written = write_held(w);
    let closed = match methods(w).xClose {
        Some(m) => m(w.real),
        None => ffi::SQLITE_OK,
    };
    std::ptr::drop_in_place(&raw mut w.held);
    (*f).pMethods = std::ptr::null();
    if written != ffi::SQLITE_OK {
        written
    } else {
        closed
    }
}

static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};
