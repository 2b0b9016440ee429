// SPDX-License-Identifier: GPL-2.0

//! A pool filled with the trace, every object freed again when dropped (also on error paths,
//! so neither allocator is ever destroyed with live objects).

use crate::{
    ffi::{Handle, Pool, PAGE_SIZE},
    trace::Trace,
};
use kernel::prelude::*;

pub(crate) struct Objects<'a> {
    pub(crate) pool: &'a Pool,
    /// Object `i` of the trace, or `None` once freed.
    pub(crate) handles: KVVec<Option<Handle>>,
}

impl<'a> Objects<'a> {
    /// Room for the whole trace; allocate before taking a memory baseline.
    pub(crate) fn with_capacity(pool: &'a Pool, trace: &Trace) -> Result<Objects<'a>> {
        Ok(Objects {
            pool,
            handles: KVVec::with_capacity(trace.len(), GFP_KERNEL)?,
        })
    }

    /// Allocates and writes every object of the trace.
    pub(crate) fn fill(&mut self, trace: &Trace) -> Result {
        for i in 0..trace.len() {
            let handle = self
                .pool
                .malloc(trace.size(i))
                .inspect_err(|_| pr_err!("malloc of object {i} failed\n"))?;
            self.pool.write(&handle, trace.content(i));
            self.handles.push(Some(handle), GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Reads every live object back and compares it byte for byte with what was written.
    pub(crate) fn verify(&self, trace: &Trace) -> Result {
        let mut buf = KVVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
        for (i, handle) in self.handles.iter().enumerate() {
            let Some(handle) = handle else { continue };
            let out = &mut buf[..handle.size()];
            self.pool.read(handle, out);
            if out != trace.content(i) {
                pr_err!("object {i} ({} bytes) read back wrong\n", handle.size());
                return Err(EIO);
            }
        }
        Ok(())
    }

    /// Frees object `i` if it is live; returns its size.
    pub(crate) fn free(&mut self, i: usize) -> usize {
        match self.handles[i].take() {
            Some(handle) => {
                let size = handle.size();
                self.pool.free(handle);
                size
            }
            None => 0,
        }
    }
}

impl Drop for Objects<'_> {
    fn drop(&mut self) {
        for i in 0..self.handles.len() {
            self.free(i);
        }
    }
}
