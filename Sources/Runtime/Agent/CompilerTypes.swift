import PodCompiler

// The compiler and the API client both model ConfigMaps, Secrets and Pods, and the module
// `PodCompiler` has an enum of the same name, so `PodCompiler.ConfigMap` does not resolve. Files
// that import both modules name the compiler's types by these aliases.

/// The compiler's ConfigMap (what a pod's volumes and env read).
public typealias CompilerConfigMap = ConfigMap
/// The compiler's Secret.
public typealias CompilerSecret = Secret
/// The compiler's Pod.
public typealias CompilerPod = Pod
