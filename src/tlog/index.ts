export { hashLeaf, hashChildren, rootAt, rangeHash, subtrees, Frontier, EMPTY_ROOT, HASH_SIZE, type NodeReader } from './merkle.js';
export { inclusionPath, consistencyPath, verifyInclusion, verifyConsistency, rootFromInclusion } from './proof.js';
export {
  ALG_ED25519, ALG_COSIGNATURE_V1, keyIdOf, keyNameProblem, formatVerifierKey, formatSignerKey, parseVerifierKey, parseSignerKey,
  generateSigner, type NoteSigner, type NoteVerifier, type KeyAlg,
} from './keys.js';
export { signNote, signatureLine, parseNote, openNote, cosignedMessage, type Note, type GoodSignature } from './note.js';
export { formatCheckpoint, parseCheckpoint as parseCheckpointBody, type CheckpointBody } from './checkpoint.js';
export { tileIndexPath, tilePath, tilesOf, entryBundle, TILE_WIDTH, TILE_HEIGHT } from './tiles.js';
export { verifyBundle, BUNDLE_FORMAT, type Bundle, type BundleEntry, type BundleProof, type BundleProblem } from './bundle.js';
