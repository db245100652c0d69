using System.Text.Json;
using Lanes.Inference.Engine.Torch.Constraints;

namespace Lanes.Inference.Tests.Engine.Torch.Constraints;

public class JsonSchemaCompilerTests
{
    [Theory]
    [InlineData("""{"type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}}""", "properties.name.pattern")]
    [InlineData("""{"type": "object", "properties": {"age": {"type": "integer", "multipleOf": 5}}}""", "properties.age.multipleOf")]
    [InlineData("""{"type": "number", "minimum": 0.5}""", "minimum")]
    [InlineData("""{"type": "integer", "minimum": 4, "exclusiveMaximum": 4, "maximum": 9}""", "minimum")]
    [InlineData("""{"type": "integer", "exclusiveMinimum": true, "minimum": 1}""", "exclusiveMinimum")]
    [InlineData("""{"type": "object", "properties": {"age": {"type": "int"}}}""", "properties.age.type")]
    [InlineData("""{"type": "object", "patternProperties": {"^x": {}}}""", "patternProperties")]
    [InlineData("""{"$ref": "https://example.com/schema.json"}""", "$ref")]
    [InlineData("""{"$ref": "#/$defs/missing"}""", "$ref")]
    [InlineData("""{"type": "array", "items": {"not": {"type": "null"}}}""", "items.not")]
    [InlineData("""{"type": "string", "anyOf": [{"maxLength": 3}, {"minLength": 9}]}""", "type")]
    [InlineData("""{"type": "array", "items": [{"type": "string"}]}""", "items")]
    [InlineData("""{"type": "array", "uniqueItems": true}""", "uniqueItems")]
    [InlineData("""{"type": "string", "maxLength": 2, "minLength": 3}""", "maxLength")]
    [InlineData("""{"type": "string", "enum": [1, 2]}""", "enum")]
    [InlineData("""{"anyOf": [{"$ref": "#"}, {"type": "null"}]}""", "")]
    [InlineData("""{"type": "object", "properties": {"next": {"$ref": "#"}}, "required": ["next"]}""", "")]
    [InlineData("""{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}""", "$defs.a")]
    [InlineData("""false""", "")]
    public void A_schema_that_cannot_be_guaranteed_is_refused_naming_where(string schema, string path)
    {
        using var document = JsonDocument.Parse(schema);

        var refused = Assert.Throws<UnsupportedSchema>(() => Grammar.ForJsonSchema(document.RootElement));

        Assert.Equal(path, refused.Path);
        Assert.False(string.IsNullOrWhiteSpace(refused.Message));
    }

    [Fact]
    public void The_refusal_names_the_keyword()
    {
        using var document = JsonDocument.Parse("""{"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}""");

        var refused = Assert.Throws<UnsupportedSchema>(() => Grammar.ForJsonSchema(document.RootElement));

        Assert.Contains("'format'", refused.Message, StringComparison.Ordinal);
        Assert.Equal("properties.email.format", refused.Path);
    }

    [Theory]
    [InlineData("""{"type": "object", "title": "T", "description": "d", "default": {}, "examples": [], "$comment": "c", "x-vendor": 1, "properties": {}}""")]
    [InlineData("""{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/s", "type": "string"}""")]
    [InlineData("""{"definitions": {"p": {"type": "string"}}, "type": "object", "properties": {"a": {"$ref": "#/definitions/p"}}}""")]
    [InlineData("""{"anyOf": [{"type": "string"}, {"type": "null"}], "default": null, "title": "Pydantic optional"}""")]
    [InlineData("""{"allOf": [{"$ref": "#/$defs/x"}], "$defs": {"x": {"type": "boolean"}}}""")]
    [InlineData("""{"type": ["string", "null"], "maxLength": 5}""")]
    [InlineData("""{"oneOf": [{"type": "integer"}, {"type": "string"}]}""")]
    [InlineData("""{"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 3, "uniqueItems": false}""")]
    [InlineData("""{"const": {"a": [1, "two"]}}""")]
    [InlineData("""{"type": "integer", "minimum": -1e300, "maximum": 1e300}""")]
    [InlineData("""{"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 100}""")]
    [InlineData("""{}""")]
    [InlineData("""true""")]
    public void Annotations_and_the_supported_keywords_compile(string schema)
    {
        using var document = JsonDocument.Parse(schema);

        Assert.NotNull(Grammar.ForJsonSchema(document.RootElement));
    }
}
