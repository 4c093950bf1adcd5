//! SQLite's memory allocations through Rust's global allocator.
//!
//! Left alone, SQLite allocates with the C library's `malloc`. Its writer thread then gets a
//! glibc arena of its own, and every b-tree rebalance takes and returns a scratch buffer of a few
//! pages at the top of that arena's heap: glibc trims the heap when it is returned and grows it
//! again (page faults, `mprotect`) at the next rebalance. With a feed's small commits that, with
//! glibc's own bookkeeping, was ~9 % of the writer thread. Routed here, SQLite allocates with
//! whatever the program chose as its global allocator (the `weave` binary: mimalloc, which keeps
//! freed pages for reuse).
//!
//! Each block carries its requested size in a 16-byte header before the pointer SQLite sees
//! (`xSize` must answer it, and Rust's deallocation needs it); the header also keeps the block
//! 16-byte aligned, more than the 8 bytes SQLite requires.

use rusqlite::ffi;
use std::alloc::{alloc, dealloc, realloc, Layout};
use std::ffi::{c_int, c_void};
use std::ptr::null_mut;
use std::sync::OnceLock;

/// Bytes before each block: its size, padded to the alignment.
const HEADER: usize = 16;
const ALIGN: usize = 16;

/// What [`install`] did (kept for later calls, which return it).
static INSTALLED: OnceLock<Result<(), c_int>> = OnceLock::new();

/// Makes SQLite allocate through Rust's global allocator. Like the page cache, this must happen
/// before SQLite is initialised (before the process's first connection); later, SQLite refuses
/// with `SQLITE_MISUSE` and keeps its default allocator, which is correct, only slower. Later
/// calls return the first call's result.
pub fn install() -> Result<(), c_int> {
    *INSTALLED.get_or_init(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: null_mut(),
        };
        // SAFETY: SQLite copies the methods it is given; they are valid for the whole process.
        match unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const ffi::sqlite3_mem_methods) } {
            ffi::SQLITE_OK => Ok(()),
            rc => Err(rc),
        }
    })
}

/// The layout of a block of `size` bytes with its header, if representable.
fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, ALIGN).ok()
}

/// SAFETY (below): SQLite only frees, resizes or measures pointers `x_malloc`/`x_realloc` returned,
/// so the header before each holds the size the block was allocated with.
unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    let Some(layout) = usize::try_from(n).ok().filter(|&n| n > 0).and_then(layout) else { return null_mut() };
    let base = alloc(layout);
    if base.is_null() {
        return null_mut();
    }
    base.cast::<usize>().write(layout.size() - HEADER);
    base.add(HEADER).cast()
}

/// The block's start (its header) and the size it was allocated with.
unsafe fn block(p: *mut c_void) -> (*mut u8, usize) {
    let base = p.cast::<u8>().sub(HEADER);
    (base, base.cast::<usize>().read())
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    let (base, size) = block(p);
    // The layout was valid when the block was allocated with it.
    dealloc(base, Layout::from_size_align_unchecked(size + HEADER, ALIGN));
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    if p.is_null() {
        return x_malloc(n);
    }
    // SQLite never asks for zero bytes here; refusing leaves the old block intact, as a failed
    // reallocation must.
    let Some(new) = usize::try_from(n).ok().filter(|&n| n > 0).and_then(layout) else { return null_mut() };
    let (base, size) = block(p);
    let moved = realloc(base, Layout::from_size_align_unchecked(size + HEADER, ALIGN), new.size());
    if moved.is_null() {
        return null_mut();
    }
    moved.cast::<usize>().write(new.size() - HEADER);
    moved.add(HEADER).cast()
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    c_int::try_from(block(p).1).unwrap_or(c_int::MAX)
}

/// Sizes are rounded up to 8 bytes, so the space SQLite is told of is exactly what it asked for.
unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    n.checked_add(7).map_or(n, |m| m & !7)
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_size_and_contents_through_realloc() {
        unsafe {
            assert!(x_malloc(0).is_null());
            assert!(x_malloc(-5).is_null());
            let n = x_roundup(13);
            assert_eq!(n, 16);
            let p = x_malloc(n).cast::<u8>();
            assert!(!p.is_null());
            assert_eq!(p as usize % 8, 0);
            assert_eq!(x_size(p.cast()), 16);
            for i in 0..16 {
                p.add(i).write(i as u8);
            }
            let q = x_realloc(p.cast(), 4096).cast::<u8>();
            assert!(!q.is_null());
            assert_eq!(x_size(q.cast()), 4096);
            assert!((0..16).all(|i| q.add(i).read() == i as u8));
            // A refused resize leaves the block as it was.
            assert!(x_realloc(q.cast(), 0).is_null());
            assert_eq!(x_size(q.cast()), 4096);
            x_free(q.cast());
            x_free(null_mut());
            assert_eq!(x_size(null_mut()), 0);
        }
    }
}
