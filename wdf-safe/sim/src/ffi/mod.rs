//! The simulated framework's seam, and the only module of the crate with `unsafe`: the
//! bindings a driver image calls through, the function table they reach, the table's entries
//! (raw DDI arguments in, validated and handed to the safe [`crate::framework`]), the calls
//! back into driver code, and the memory lent to drivers.

pub mod bindings;
pub(crate) mod callbacks;
mod entries;
pub mod keyboard;
pub(crate) mod memory;
mod table;
