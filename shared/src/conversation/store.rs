//! Why a context or task store call failed.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A quota or size limit would be exceeded; nothing was written.
    #[error("limit of {0} reached")]
    LimitReached(usize),
    /// The context's content would pass this many bytes; nothing was written.
    #[error("size limit of {0} bytes reached")]
    SizeReached(u64),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}
