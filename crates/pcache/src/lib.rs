//! SQLite's default page cache (`pcache1`), wrapped so that the end of a write transaction does
//! not scan the whole cache.
//!
//! When SQLite rebalances a b-tree (`balance_nonroot`) it sorts the new pages by number, swapping
//! two pages' numbers through a temporary one: the page number of the "pending byte" (1 GiB; page
//! 262,145 with 4 KiB pages), which no database page ever has. `pcache1` remembers the largest
//! page number it has held, and at the end of every write transaction the pager asks it to drop
//! the pages past the end of the database. While the database is smaller than 1 GiB the remembered
//! number lies past it, and `pcache1` then walks every slot of its hash table — with the writer's
//! 256 MiB cache, 65,536 or more slots at every commit, although no such page exists any more.
//! For a feed's small commits that was 5 % of the writer thread's time.
//!
//! This wrapper forwards every call to `pcache1` and keeps, for each cache, an upper bound on the
//! page numbers it holds: every page enters by a fetch that creates it or by a rekey, and both
//! raise the bound — except a rekey to the pending-byte page, which is tracked on its own until
//! the page is rekeyed away again (as `balance_nonroot` always does at once). A truncation that
//! cannot find a page at or past its limit is then not forwarded: `pcache1` would have found
//! nothing to drop either, so the cache's contents are exactly what they would have been.

pub mod malloc;

use rusqlite::ffi;
use std::ffi::{c_int, c_uint};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// SQLite's pending byte: the page that holds it is never used by a database.
const PENDING_BYTE: c_uint = 0x4000_0000;

/// The default page cache's methods, as SQLite had them before [`install`].
static BASE: OnceLock<Base> = OnceLock::new();

struct Base(ffi::sqlite3_pcache_methods2);
// SAFETY: the methods are C functions SQLite calls from every thread; `pArg` is only handed back
// to `xInit`/`xShutdown`, which SQLite itself calls.
unsafe impl Send for Base {}
unsafe impl Sync for Base {}

/// What [`install`] did (kept for later calls, which return it).
static INSTALLED: OnceLock<Result<(), c_int>> = OnceLock::new();

/// Truncations not forwarded because no page could be dropped (for tests and diagnostics).
static SKIPPED: AtomicU64 = AtomicU64::new(0);

/// One cache: `pcache1`'s own, and what this wrapper knows of it.
struct Cache {
    base: *mut ffi::sqlite3_pcache,
    /// No page numbered above this is held (apart from the parked page).
    bound: c_uint,
    /// The pending-byte page number for this cache's page size.
    pending: c_uint,
    /// A page is held under `pending` (between two rekeys of a rebalance).
    parked: bool,
}

/// Installs the wrapper as SQLite's page cache. It must run before SQLite is initialised, that
/// is before the first connection of the process is opened; once SQLite is running its page
/// cache can no longer be changed and this returns `SQLITE_MISUSE` (the default cache then stays,
/// which is correct, only slower). Later calls return the first call's result.
pub fn install() -> Result<(), c_int> {
    *INSTALLED.get_or_init(|| unsafe { install_once() })
}

/// Truncations the wrapper found nothing to drop for, and so did not forward, since the start.
pub fn skipped_truncations() -> u64 {
    SKIPPED.load(Ordering::Relaxed)
}

unsafe fn install_once() -> Result<(), c_int> {
    let mut base = std::mem::MaybeUninit::<ffi::sqlite3_pcache_methods2>::zeroed();
    let rc = ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, base.as_mut_ptr());
    if rc != ffi::SQLITE_OK {
        return Err(rc);
    }
    let base = base.assume_init();
    if base.xCreate.is_none() || base.xFetch.is_none() || base.xTruncate.is_none() || base.xDestroy.is_none() || base.xRekey.is_none() {
        return Err(ffi::SQLITE_ERROR);
    }
    let base = BASE.get_or_init(|| Base(base)).0;
    let wrapped = ffi::sqlite3_pcache_methods2 {
        iVersion: base.iVersion,
        pArg: base.pArg,
        xInit: base.xInit,
        xShutdown: base.xShutdown,
        xCreate: Some(create),
        xCachesize: Some(cachesize),
        xPagecount: Some(pagecount),
        xFetch: Some(fetch),
        xUnpin: Some(unpin),
        xRekey: Some(rekey),
        xTruncate: Some(truncate),
        xDestroy: Some(destroy),
        xShrink: Some(shrink),
    };
    // SQLite copies the methods it is given.
    match ffi::sqlite3_config(ffi::SQLITE_CONFIG_PCACHE2, &wrapped as *const ffi::sqlite3_pcache_methods2) {
        ffi::SQLITE_OK => Ok(()),
        rc => Err(rc),
    }
}

fn base() -> &'static ffi::sqlite3_pcache_methods2 {
    // Set before any method of the wrapper can be installed, hence called.
    &BASE.get().expect("the wrapped page cache is installed only after its base is known").0
}

impl Cache {
    /// A page now held under `key`: parked if that is the pending-byte page, else the bound rises.
    fn note(&mut self, key: c_uint) {
        if key == self.pending {
            self.parked = true;
        } else if key > self.bound {
            self.bound = key;
        }
    }
}

/// SAFETY (every method below): SQLite passes back the pointer `create` returned, and calls a
/// cache's methods from one connection at a time (the pager's), so the `Cache` is not shared.
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    &mut *p.cast::<Cache>()
}

unsafe extern "C" fn create(sz_page: c_int, sz_extra: c_int, purgeable: c_int) -> *mut ffi::sqlite3_pcache {
    let inner = (base().xCreate.expect("checked at install"))(sz_page, sz_extra, purgeable);
    if inner.is_null() {
        return inner;
    }
    let pending = PENDING_BYTE / c_uint::try_from(sz_page.max(1)).unwrap_or(1) + 1;
    Box::into_raw(Box::new(Cache { base: inner, bound: 0, pending, parked: false })).cast::<ffi::sqlite3_pcache>()
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    if let Some(f) = base().xCachesize {
        f(cache(p).base, n);
    }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    base().xPagecount.map_or(0, |f| f(cache(p).base))
}

unsafe extern "C" fn fetch(p: *mut ffi::sqlite3_pcache, key: c_uint, create: c_int) -> *mut ffi::sqlite3_pcache_page {
    let c = cache(p);
    let page = (base().xFetch.expect("checked at install"))(c.base, key, create);
    // A page may have been created: it raises the bound (a plain lookup finds pages already
    // counted, so the bound is only raised where a page can appear).
    if create != 0 && !page.is_null() {
        c.note(key);
    }
    page
}

unsafe extern "C" fn unpin(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, discard: c_int) {
    if let Some(f) = base().xUnpin {
        f(cache(p).base, page, discard);
    }
}

unsafe extern "C" fn rekey(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, old: c_uint, new: c_uint) {
    let c = cache(p);
    (base().xRekey.expect("checked at install"))(c.base, page, old, new);
    if old == c.pending {
        c.parked = false;
    }
    c.note(new);
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    let c = cache(p);
    let parked_dropped = c.parked && c.pending >= limit;
    if limit > c.bound && !parked_dropped {
        // Nothing at or past `limit` is held: `pcache1` would drop nothing.
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    (base().xTruncate.expect("checked at install"))(c.base, limit);
    if parked_dropped {
        c.parked = false;
    }
    c.bound = c.bound.min(limit.saturating_sub(1));
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    let c = Box::from_raw(p.cast::<Cache>());
    (base().xDestroy.expect("checked at install"))(c.base);
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    if let Some(f) = base().xShrink {
        f(cache(p).base);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pending-byte page's number with 4 KiB pages.
    const PENDING_4K: c_uint = PENDING_BYTE / 4096 + 1;

    /// A wrapped cache of 4 KiB pages, driven directly through the wrapper's methods.
    struct Driven(*mut ffi::sqlite3_pcache);

    impl Driven {
        fn new() -> Driven {
            install().expect("the wrapper installs before SQLite starts in this test binary");
            // The base cache is set up by SQLite's initialisation (a connection's open does it).
            assert_eq!(unsafe { ffi::sqlite3_initialize() }, ffi::SQLITE_OK);
            let p = unsafe { create(4096, 64, 1) };
            assert!(!p.is_null());
            unsafe { cachesize(p, 1000) };
            Driven(p)
        }
        /// Creates (or finds) page `key` and unpins it, as the pager does when done with it.
        fn touch(&self, key: c_uint) {
            let page = unsafe { fetch(self.0, key, 2) };
            assert!(!page.is_null());
            unsafe { unpin(self.0, page, 0) };
        }
        fn rekey(&self, old: c_uint, new: c_uint) {
            let page = unsafe { fetch(self.0, old, 0) };
            assert!(!page.is_null(), "page {old} is held");
            unsafe {
                rekey(self.0, page, old, new);
                unpin(self.0, page, 0);
            }
        }
        fn held(&self, key: c_uint) -> bool {
            let page = unsafe { fetch(self.0, key, 0) };
            if !page.is_null() {
                unsafe { unpin(self.0, page, 0) };
            }
            !page.is_null()
        }
        fn count(&self) -> c_int {
            unsafe { pagecount(self.0) }
        }
        fn truncate(&self, limit: c_uint) {
            unsafe { truncate(self.0, limit) }
        }
    }

    impl Drop for Driven {
        fn drop(&mut self) {
            unsafe { destroy(self.0) }
        }
    }

    #[test]
    fn a_truncation_with_nothing_past_its_limit_is_not_forwarded() {
        let c = Driven::new();
        (1..=8).for_each(|k| c.touch(k));
        let before = skipped_truncations();
        c.truncate(9);
        assert_eq!(c.count(), 8);
        assert!(skipped_truncations() > before);
        c.truncate(5);
        assert_eq!(c.count(), 4, "pages 5 to 8 are dropped");
        assert!(c.held(4) && !c.held(5));
    }

    #[test]
    fn a_page_parked_at_the_pending_byte_is_dropped_by_a_truncation() {
        let c = Driven::new();
        (1..=4).for_each(|k| c.touch(k));
        c.rekey(4, PENDING_4K);
        c.truncate(5);
        assert!(!c.held(PENDING_4K), "the parked page lies past the limit");
        assert_eq!(c.count(), 3);
    }

    #[test]
    fn a_rebalance_swap_leaves_the_bound_on_the_real_pages() {
        let c = Driven::new();
        (1..=6).for_each(|k| c.touch(k));
        // `balance_nonroot` swaps 3 and 6 through the pending page.
        c.rekey(3, PENDING_4K);
        c.rekey(6, 3);
        c.rekey(PENDING_4K, 6);
        let before = skipped_truncations();
        c.truncate(7);
        assert!(skipped_truncations() > before, "nothing is held past page 6");
        assert_eq!(c.count(), 6);
        // A page rekeyed upwards raises the bound: a truncation below it drops it.
        c.rekey(6, 9);
        c.truncate(7);
        assert!(!c.held(9));
        assert_eq!(c.count(), 5);
    }
}
