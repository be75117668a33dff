//! Object storage as a backend, through the `object_store` crate: S3 and S3-compatible
//! services (MinIO and the like), Google Cloud Storage, Azure Blob Storage, or memory.
//!
//! A backend is named by a URL — `s3://bucket/prefix`, `gs://bucket/prefix`,
//! `az://container/prefix`, `memory://` — with credentials and endpoints from the usual
//! environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ENDPOINT` and `AWS_ALLOW_HTTP=true` for MinIO, `GOOGLE_SERVICE_ACCOUNT`,
//! `AZURE_STORAGE_ACCOUNT_NAME`…). Atoms are objects `<prefix>/ab/cd/<hex>`, sharded as in
//! a local folder. An object store makes a `put` durable before it answers, so `flush` has
//! nothing to do.
//!
//! `object_store` is asynchronous; this backend runs its requests on a small runtime of its
//! own and waits for them, so the store above stays synchronous and can be called from any
//! thread, inside another runtime's blocking pool included.

use std::future::Future;
use std::sync::{mpsc, Arc};

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::atom::AtomHash;
use crate::backend::Backend;
use crate::error::{Error, Result};

/// Atoms in an object store.
pub struct ObjectBackend {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl ObjectBackend {
    /// The backend a URL names, configured from the environment.
    pub fn from_url(url: &str) -> Result<ObjectBackend> {
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::InvalidArgument(format!("backend {url}: {e}")))?;
        // The builders' own keys, from the environment variables that name them.
        let options = std::env::vars().filter_map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            ["aws_", "google_", "azure_"]
                .iter()
                .any(|p| lower.starts_with(p))
                .then_some((lower, v))
        });
        let (store, prefix) = object_store::parse_url_opts(&parsed, options)
            .map_err(|e| Error::InvalidArgument(format!("backend {url}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cairn-object-store")
            .enable_all()
            .build()
            .map_err(|e| Error::Backend(format!("starting the object store's runtime: {e}")))?;
        Ok(ObjectBackend {
            store: Arc::from(store),
            prefix,
            url: url.to_string(),
            runtime,
        })
    }

    fn path_of(&self, hash: &AtomHash) -> ObjectPath {
        let hex = hash.to_hex();
        let mut parts: Vec<String> = self
            .prefix
            .parts()
            .map(|p| p.as_ref().to_string())
            .collect();
        parts.extend([hex[0..2].to_string(), hex[2..4].to_string(), hex]);
        ObjectPath::from_iter(parts)
    }

    /// Runs a request on the backend's runtime and waits for it.
    fn wait<T: Send + 'static>(
        &self,
        request: impl Future<Output = T> + Send + 'static,
    ) -> Result<T> {
        let (sender, receiver) = mpsc::channel();
        self.runtime.spawn(async move {
            let _ = sender.send(request.await);
        });
        receiver
            .recv()
            .map_err(|_| Error::Backend("the object store's runtime stopped".into()))
    }
}

fn backend_error(what: &str, e: object_store::Error) -> Error {
    Error::Backend(format!("{what}: {e}"))
}

impl Backend for ObjectBackend {
    fn put(&self, hash: &AtomHash, bytes: &[u8]) -> Result<()> {
        let (store, path) = (Arc::clone(&self.store), self.path_of(hash));
        let payload = PutPayload::from(bytes.to_vec());
        self.wait(async move { store.put(&path, payload).await })?
            .map(|_| ())
            .map_err(|e| backend_error("put", e))
    }

    fn get(&self, hash: &AtomHash) -> Result<Option<Vec<u8>>> {
        let (store, path) = (Arc::clone(&self.store), self.path_of(hash));
        let got = self.wait(async move {
            match store.get(&path).await {
                Ok(result) => result.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        got.map(|bytes| bytes.map(|b| b.to_vec()))
            .map_err(|e| backend_error("get", e))
    }

    fn delete(&self, hash: &AtomHash) -> Result<()> {
        let (store, path) = (Arc::clone(&self.store), self.path_of(hash));
        match self.wait(async move { store.delete(&path).await })? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(backend_error("delete", e)),
        }
    }

    fn list(&self) -> Result<Vec<AtomHash>> {
        let (store, prefix) = (Arc::clone(&self.store), self.prefix.clone());
        let listed = self.wait(async move {
            let mut hashes = Vec::new();
            let mut stream = store.list(Some(&prefix));
            while let Some(meta) = stream.next().await {
                let meta = meta?;
                if let Some(hash) = meta.location.filename().and_then(AtomHash::parse) {
                    hashes.push(hash);
                }
            }
            Ok(hashes)
        })?;
        listed.map_err(|e| backend_error("list", e))
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}
