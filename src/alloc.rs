//! The allocator's side of memory use. mimalloc (the global allocator, and `malloc` for the C
//! parts) returns freed memory to the system a second after it is freed, and only when the
//! process calls into the allocator again: a bulk job that frees as fast as it allocates (the
//! keyword index build) would otherwise hold everything it freed in the last second on top of
//! what it keeps, and keep it until the next requests come.

/// Returns the memory freed so far to the system now.
#[allow(unsafe_code)]
pub fn give_back() {
    // SAFETY: `mi_collect` takes no pointers and may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
