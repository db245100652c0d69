namespace Lanes.Inference.Engine.Torch.Checkpoint;

/// <summary>A model folder the engine cannot serve: a missing file, an unsupported architecture, a corrupt or
/// mismatched tensor. The message names the file or tensor so an operator can fix the folder.</summary>
public sealed class ModelLoadException(string message, Exception? inner = null) : Exception(message, inner);
