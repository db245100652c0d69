using Microsoft.Extensions.Options;

namespace Lanes.Inference.Engine.Scripted;

/// <summary>Validates <see cref="ScriptedEngineOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class ScriptedEngineOptionsValidator : IValidateOptions<ScriptedEngineOptions>;
