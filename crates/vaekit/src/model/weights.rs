//! Named tensors in and out of modules, and their safetensors files.
//!
//! A parameter's name is its module path (`encoder.Mlp.hidden.0.weight`), read
//! from burn's visitor and mapper hooks. The files are written with the
//! `safetensors` crate rather than burn's own stores so that one file can hold a
//! model, optimizer moments and training state side by side (a checkpoint), be
//! written atomically from memory, and be read by any safetensors tool.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::error::{Error, Result};
use crate::nn::keep_grad;

/// Every float parameter of `module` with its path name, in visiting order.
pub fn named_tensors<M: Module>(module: &M) -> Vec<(String, TensorData)> {
    struct Collect {
        path: Vec<String>,
        out: Vec<(String, TensorData)>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let data = param.val().into_data().convert::<f32>();
            self.out.push((self.path.join("."), data));
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
        out: Vec::new(),
    };
    module.visit(&mut collect);
    collect.out
}

/// Draws every lazily initialized parameter of `module` now. burn draws a
/// parameter's initial values from the device's generator at its first use;
/// forcing that here keeps the draw next to the seeding (see
/// [`crate::random::with_seeded_device`]).
pub fn initialize_now<M: Module>(module: &M) {
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
}

/// Replaces every float parameter of `module` by the tensor of the same name.
///
/// Fails, naming `origin` and the parameter, when a name is missing, a shape
/// differs, or `tensors` holds names the module does not have.
pub fn load_named<M: Module>(
    module: M,
    mut tensors: HashMap<String, TensorData>,
    origin: &Path,
) -> Result<M> {
    struct Replace<'a> {
        path: Vec<String>,
        tensors: &'a mut HashMap<String, TensorData>,
        error: Option<String>,
    }
    impl ModuleMapper for Replace<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let name = self.path.join(".");
            let (id, tensor, mapper) = param.consume();
            let Some(data) = self.tensors.remove(&name) else {
                self.error.get_or_insert(format!("has no tensor '{name}'"));
                return Param::from_mapped_value(id, tensor, mapper);
            };
            let expected = tensor.dims().to_vec();
            if data.shape().as_slice() != expected.as_slice() {
                self.error.get_or_insert(format!(
                    "tensor '{name}' has shape {:?} but the model needs {expected:?}",
                    data.shape().as_slice()
                ));
                return Param::from_mapped_value(id, tensor, mapper);
            }
            let loaded = keep_grad(&tensor, Tensor::<D>::from_data(data, &tensor.device()));
            Param::from_mapped_value(id, loaded, mapper)
        }
    }
    let mut replace = Replace {
        path: Vec::new(),
        tensors: &mut tensors,
        error: None,
    };
    let module = module.map(&mut replace);
    let problem = replace.error.or_else(|| {
        let mut extra: Vec<_> = tensors.keys().cloned().collect();
        extra.sort();
        (!extra.is_empty()).then(|| format!("has tensors the model lacks: {}", extra.join(", ")))
    });
    match problem {
        None => Ok(module),
        Some(problem) => Err(Error::format(
            origin,
            format!("{problem}; the weights do not belong to this model's config"),
        )),
    }
}

/// Serializes named f32 tensors and string metadata as safetensors bytes.
pub fn to_safetensors(
    tensors: &[(String, TensorData)],
    metadata: BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let mut bytes: Vec<(String, Vec<u8>, Vec<usize>)> = Vec::with_capacity(tensors.len());
    for (name, data) in tensors {
        let values = data
            .try_to_vec::<f32>()
            .map_err(|e| Error::Data(format!("tensor '{name}' is not f32: {e:?}")))?;
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes.push((name.clone(), raw, data.shape().as_slice().to_vec()));
    }
    let views = bytes
        .iter()
        .map(|(name, raw, shape)| {
            TensorView::new(Dtype::F32, shape.clone(), raw)
                .map(|view| (name.clone(), view))
                .map_err(|e| Error::Data(format!("tensor '{name}': {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata: HashMap<String, String> = metadata.into_iter().collect();
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::Data(format!("cannot serialize tensors: {e}")))
}

/// Named tensors and metadata read back from safetensors bytes.
pub struct TensorFile {
    /// Tensors by name.
    pub tensors: HashMap<String, TensorData>,
    /// String metadata of the file's header.
    pub metadata: HashMap<String, String>,
}

/// Parses safetensors bytes; `origin` names the file in errors. Only f32 tensors
/// are accepted (vaekit writes nothing else).
pub fn from_safetensors(bytes: &[u8], origin: &Path) -> Result<TensorFile> {
    let corrupt = |detail: String| {
        Error::format(
            origin,
            format!(
                "is not a readable safetensors file ({detail}); it may be truncated or \
                 corrupt: retrain, or restore it from a copy"
            ),
        )
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| corrupt(e.to_string()))?;
    let parsed = SafeTensors::deserialize(bytes).map_err(|e| corrupt(e.to_string()))?;
    let mut tensors = HashMap::new();
    for (name, view) in parsed.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(corrupt(format!(
                "tensor '{name}' is {:?}, not F32",
                view.dtype()
            )));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.insert(name, TensorData::new(values, view.shape().to_vec()));
    }
    Ok(TensorFile {
        tensors,
        metadata: header.metadata().clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_round_trip_keeps_names_values_and_metadata() {
        let tensors = vec![
            (
                "a.weight".to_string(),
                TensorData::new(vec![1.0f32, -2.5, 3.25, 0.0], [2, 2]),
            ),
            ("b".to_string(), TensorData::new(vec![7.0f32], [1])),
        ];
        let mut meta = BTreeMap::new();
        meta.insert("state".to_string(), "{\"epoch\":3}".to_string());
        let bytes = to_safetensors(&tensors, meta).unwrap();
        let back = from_safetensors(&bytes, Path::new("x")).unwrap();
        assert_eq!(back.metadata["state"], "{\"epoch\":3}");
        assert_eq!(
            back.tensors["a.weight"].try_to_vec::<f32>().unwrap(),
            vec![1.0, -2.5, 3.25, 0.0]
        );
        assert_eq!(back.tensors["a.weight"].shape().as_slice(), &[2, 2]);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = from_safetensors(&bytes, Path::new("x.safetensors"));
        }

        #[test]
        fn a_plausible_header_with_arbitrary_tail_never_panics(
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            len in 0u64..200,
        ) {
            let header = br#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
            let mut bytes = len.max(header.len() as u64).to_le_bytes().to_vec();
            bytes.extend_from_slice(header);
            bytes.extend_from_slice(&tail);
            let _ = from_safetensors(&bytes, Path::new("x.safetensors"));
        }
    }

    #[test]
    fn truncated_or_garbage_files_are_format_errors() {
        let bytes = to_safetensors(
            &[("w".to_string(), TensorData::new(vec![1.0f32; 16], [4, 4]))],
            BTreeMap::new(),
        )
        .unwrap();
        for bad in [
            &bytes[..bytes.len() - 3],
            &bytes[..5],
            b"not a tensor file at all".as_slice(),
            &[],
        ] {
            let err = from_safetensors(bad, Path::new("model.safetensors"))
                .err()
                .unwrap();
            assert!(err.to_string().contains("model.safetensors"), "{err}");
        }
    }
}
