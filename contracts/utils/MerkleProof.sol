// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title MerkleProof
/// @notice Proof verification for trees built by `hcfl/merkle.py` (OpenZeppelin's sorted-pair scheme:
///         leaves are keccak256(bytes.concat(keccak256(abi.encode(...)))), pairs hashed in ascending order).
library MerkleProof {
    /// @notice True when `proof` leads from `leaf` to `root`.
    function verify(bytes32[] calldata proof, bytes32 root, bytes32 leaf) internal pure returns (bool) {
        bytes32 node = leaf;
        for (uint256 i; i < proof.length; ++i) {
            bytes32 s = proof[i];
            node = node < s ? keccak256(abi.encodePacked(node, s)) : keccak256(abi.encodePacked(s, node));
        }
        return node == root;
    }

    /// @notice `verify` for a proof held in memory.
    function verifyMemory(bytes32[] memory proof, bytes32 root, bytes32 leaf) internal pure returns (bool) {
        bytes32 node = leaf;
        for (uint256 i; i < proof.length; ++i) {
            bytes32 s = proof[i];
            node = node < s ? keccak256(abi.encodePacked(node, s)) : keccak256(abi.encodePacked(s, node));
        }
        return node == root;
    }
}
