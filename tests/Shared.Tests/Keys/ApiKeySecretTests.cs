using System.Security.Cryptography;
using Lanes.Shared.Keys;

namespace Lanes.Shared.Tests.Keys;

public class ApiKeySecretTests
{
    [Fact]
    public void Secrets_carry_256_bits_and_never_repeat()
    {
        var secrets = Enumerable.Range(0, 1000).Select(_ => ApiKeySecret.Generate()).ToList();

        Assert.Equal(1000, secrets.Distinct().Count());
        Assert.All(secrets, s =>
        {
            Assert.StartsWith(ApiKeySecret.Scheme, s);
            var body = s[ApiKeySecret.Scheme.Length..].Replace('-', '+').Replace('_', '/') + "=";
            Assert.Equal(32, Convert.FromBase64String(body).Length);
            Assert.True(ApiKeySecret.LooksValid(s));
        });
    }

    [Fact]
    public void The_hash_is_keyed_by_the_pepper()
    {
        var secret = ApiKeySecret.Generate();
        var pepper = RandomNumberGenerator.GetBytes(32);

        Assert.Equal(ApiKeySecret.Hash(secret, pepper), ApiKeySecret.Hash(secret, pepper));
        Assert.NotEqual(ApiKeySecret.Hash(secret, pepper), ApiKeySecret.Hash(secret, RandomNumberGenerator.GetBytes(32)));
        Assert.DoesNotContain(secret[ApiKeySecret.PrefixLength..], ApiKeySecret.Hash(secret, pepper));
    }

    [Fact]
    public void The_visible_prefix_is_too_short_to_use_as_the_key()
    {
        var secret = ApiKeySecret.Generate();

        Assert.Equal(secret[..ApiKeySecret.PrefixLength], ApiKeySecret.PrefixOf(secret));
        Assert.False(ApiKeySecret.LooksValid(ApiKeySecret.PrefixOf(secret)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sk-openai-style-key-that-is-long-enough-to-pass-length-checks")]
    public void Text_that_is_not_a_lanes_key_is_recognised_without_hashing(string? text)
    {
        Assert.False(ApiKeySecret.LooksValid(text));
    }
}
