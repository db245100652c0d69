using Lanes.Portal.Api.Auth;
using Microsoft.Extensions.Time.Testing;

namespace Lanes.Portal.Tests.Api.Auth;

public sealed class SigningKeyFolderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("lanes-keys-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 2, 10, 30, 0, TimeSpan.Zero));

    [Fact]
    public void Keys_are_created_once_and_loaded_again_at_the_next_start()
    {
        var first = SigningKeyFolder.Load(_folder, SigningKeyFolder.Signing, _clock);
        _clock.Advance(TimeSpan.FromDays(1));
        var again = SigningKeyFolder.Load(_folder, SigningKeyFolder.Signing, _clock);

        Assert.Equal(first.Select(k => k.KeyId), again.Select(k => k.KeyId));
        Assert.Equal(first[0].Rsa!.ExportParameters(false).Modulus, again[0].Rsa!.ExportParameters(false).Modulus);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Directory.GetFiles(_folder).Single()));
        }
    }

    [Fact]
    public void Rotation_puts_a_new_key_first_and_keeps_one_previous_key()
    {
        var original = SigningKeyFolder.Load(_folder, SigningKeyFolder.Encryption, _clock).Single().KeyId;
        _clock.Advance(TimeSpan.FromHours(1));
        SigningKeyFolder.Rotate(_folder, _clock);
        var afterOne = SigningKeyFolder.Load(_folder, SigningKeyFolder.Encryption, _clock).Select(k => k.KeyId).ToList();
        _clock.Advance(TimeSpan.FromHours(1));
        SigningKeyFolder.Rotate(_folder, _clock);
        var afterTwo = SigningKeyFolder.Load(_folder, SigningKeyFolder.Encryption, _clock).Select(k => k.KeyId).ToList();

        Assert.Equal(original, afterOne[1]);
        Assert.Equal([afterTwo[0], afterOne[0]], afterTwo);
        Assert.DoesNotContain(original, afterTwo);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
