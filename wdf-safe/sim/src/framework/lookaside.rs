//! `WDFLOOKASIDE`, the `WDFMEMORY` objects made from it (shared/core/fxlookasidelistapi.cpp,
//! fxlookasidelist.cpp, fxmemorybufferfromlookaside.cpp, km/fxnpagedlookasidelistkm.cpp), and
//! those `WdfMemoryCreate` makes (fxmemorybufferapi.cpp, fxmemorybuffer.cpp).
//!
//! * A list is an object under its attributes' parent (the driver by default); it keeps the
//!   buffer size, the pool tag (0: the driver's) and the memory attributes, which every memory
//!   object made from it is committed with: their parent is the memory attributes' parent (the
//!   driver by default), not the list.
//! * A memory object holds a reference on its list (`FxMemoryBufferFromLookaside::Init`), so
//!   the list outlives its parent's deletion while any of its blocks is out; the block goes
//!   back when the memory object is destroyed (its last reference), not when it is deleted.
//! * Every block is counted against its tag while out, per driver image (KMDF's pool
//!   tracking, on with the verifier): [`crate::pool_in_use`]; a block still out when its
//!   driver unloads is reported as KMDF's `FxPoolDump` reports it (a verifier break naming the
//!   tag), and then freed.
//! * A `WdfMemoryCreate` buffer is pool memory of its own, not zeroed (`FxMemoryBuffer` takes
//!   it from the pool as it comes): the simulation fills it with 0xCD, so a driver that reads
//!   it before writing sees garbage, as on Windows, not zeros. It is counted under its tag as
//!   blocks are.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use wdm_compat::NtStatus;

use super::Cx;
use super::lifecycle::{self, Attributes};
use super::objects::{Body, Handle, Object};
use crate::ffi::memory::Block;

/// Blocks and bytes out per (driver image, pool tag).
#[derive(Default)]
pub(crate) struct PoolLedger(Mutex<BTreeMap<(usize, u32), (usize, usize)>>);

impl PoolLedger {
    fn add(&self, key: (usize, u32), bytes: usize, more: bool) {
        let mut ledger = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = ledger.entry(key).or_default();
        if more {
            entry.0 += 1;
            entry.1 += bytes;
        } else {
            entry.0 = entry.0.saturating_sub(1);
            entry.1 = entry.1.saturating_sub(bytes);
        }
    }

    /// Blocks and bytes out for `tag`, over every image.
    pub(crate) fn in_use(&self, tag: u32) -> (usize, usize) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|((_, t), _)| *t == tag)
            .fold((0, 0), |(b, n), (_, (blocks, bytes))| {
                (b + blocks, n + bytes)
            })
    }
}

/// `FxLookasideList`.
pub(crate) struct LookasideBody {
    /// Paged pool: blocks are taken at ≤ APC_LEVEL only (`ExAllocateFromPagedLookasideList`).
    pub(crate) paged: bool,
    size: usize,
    tag: u32,
    memory_attributes: Option<Attributes>,
    memory_parent: Option<Handle>,
}

/// `FxMemoryBufferFromLookaside` (with its list) or `FxMemoryBuffer` (`lookaside` `None`):
/// its block, counted in the ledger until it is freed.
pub(crate) struct MemoryBody {
    block: Block,
    pub(crate) lookaside: Option<Handle>,
    key: (usize, u32),
    ledger: Arc<PoolLedger>,
}

impl MemoryBody {
    pub(crate) const fn tag(&self) -> u32 {
        self.key.1
    }

    pub(crate) fn size(&self) -> usize {
        self.block.len()
    }
}

impl Drop for MemoryBody {
    fn drop(&mut self) {
        self.ledger.add(self.key, self.block.len(), false);
    }
}

/// The driver's default tag (`FxDriver::_InitializeTag`: the first four characters of its
/// name, which KMDF takes after any "WDF" prefix).
fn driver_tag(cx: &Cx) -> u32 {
    let mut bytes = [b' '; 4];
    for (slot, byte) in bytes.iter_mut().zip(cx.image.name.bytes()) {
        *slot = byte;
    }
    u32::from_le_bytes(bytes)
}

/// `WdfLookasideListCreate` (validated by the entry): a list under `parent` (the driver when
/// none) of `size`-byte blocks (paged when `paged`) tagged `tag`; memory objects go under
/// `memory_parent`.
#[allow(clippy::too_many_arguments, reason = "the DDI's own parameters")]
pub(crate) fn create(
    cx: &Cx,
    parent: Option<Handle>,
    attributes: Option<&Attributes>,
    size: usize,
    tag: u32,
    paged: bool,
    memory_attributes: Option<Attributes>,
    memory_parent: Option<Handle>,
) -> Result<Handle, NtStatus> {
    let parent = parent.or_else(|| cx.image.driver());
    let tag = if tag == 0 { driver_tag(cx) } else { tag };
    lifecycle::create_object(
        cx,
        parent,
        attributes,
        Body::Lookaside(LookasideBody {
            paged,
            size,
            tag,
            memory_attributes,
            memory_parent,
        }),
    )
}

/// `WdfMemoryCreateFromLookaside`: a zeroed block of the list's size in a memory object
/// committed with the list's memory attributes; the memory object references the list.
pub(crate) fn allocate(cx: &Cx, lookaside: Handle) -> Result<Handle, NtStatus> {
    let (size, tag, attributes, parent) = {
        let state = cx.lock();
        let body = state
            .objects
            .get(lookaside)
            .and_then(Object::lookaside)
            .ok_or(NtStatus::INVALID_HANDLE)?;
        (
            body.size,
            body.tag,
            body.memory_attributes,
            body.memory_parent,
        )
    };
    let block = Block::zeroed(size).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
    let key = (cx.image.id, tag);
    let ledger = Arc::clone(&cx.fx().pool);
    ledger.add(key, size, true);
    let body = MemoryBody {
        block,
        lookaside: Some(lookaside),
        key,
        ledger,
    };
    let parent = parent.or_else(|| cx.image.driver());
    let memory = lifecycle::create_object(cx, parent, attributes.as_ref(), Body::Memory(body))?;
    lifecycle::reference(cx, lookaside);
    Ok(memory)
}

/// The fill of a `WdfMemoryCreate` buffer: pool memory is not zeroed.
const UNINITIALISED: u8 = 0xCD;

/// `WdfMemoryCreate` (validated by the entry): a `size`-byte buffer tagged `tag` (the
/// driver's when 0) in a memory object under `parent` (the driver when none).
pub(crate) fn create_memory(
    cx: &Cx,
    parent: Option<Handle>,
    attributes: Option<&Attributes>,
    size: usize,
    tag: u32,
) -> Result<Handle, NtStatus> {
    let tag = if tag == 0 { driver_tag(cx) } else { tag };
    let fill = std::vec![UNINITIALISED; size];
    let block = Block::from_bytes(&fill).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
    let key = (cx.image.id, tag);
    let ledger = Arc::clone(&cx.fx().pool);
    ledger.add(key, size, true);
    let body = MemoryBody {
        block,
        lookaside: None,
        key,
        ledger,
    };
    let parent = parent.or_else(|| cx.image.driver());
    lifecycle::create_object(cx, parent, attributes, Body::Memory(body))
}

/// `WdfMemoryGetBuffer`: the block's address and size.
pub(crate) fn buffer(cx: &Cx, memory: Handle) -> Option<(*mut u8, usize)> {
    let state = cx.lock();
    let body = state.objects.get(memory).and_then(Object::memory)?;
    Some((body.block.as_ptr(), body.block.len()))
}

/// A copy of a memory object's bytes (what a format captures of an input buffer).
pub(crate) fn read_memory(cx: &Cx, memory: Handle) -> Option<std::vec::Vec<u8>> {
    let state = cx.lock();
    let body = state.objects.get(memory).and_then(Object::memory)?;
    Some(body.block.to_vec())
}

/// Copies `bytes` into a memory object's buffer, as much as fits (a completed request's
/// output, copied back).
pub(crate) fn write_memory(cx: &Cx, memory: Handle, bytes: &[u8]) {
    let state = cx.lock();
    if let Some(body) = state.objects.get(memory).and_then(Object::memory) {
        body.block.write(0, bytes);
    }
}

/// What freeing an object leaves to do: a memory object lets go of its list; a request the
/// driver created frees its IRP and lets go of the memory objects it was formatted with.
pub(crate) fn removed(cx: &Cx, object: Option<Object>) {
    let lookaside = object
        .as_ref()
        .and_then(Object::memory)
        .and_then(|memory| memory.lookaside);
    let created = object
        .as_ref()
        .and_then(Object::request)
        .and_then(|request| request.created.map(|created| (request.irp, created)));
    drop(object);
    if let Some(lookaside) = lookaside {
        lifecycle::dereference(cx, lookaside);
    }
    if let Some((irp, created)) = created {
        super::created::released(cx, irp, created);
    }
}
