namespace Shipper.Module.System.Process.Enrichment;

/// <summary>One digest: <see cref="Type"/> is the field name under <c>process.hash</c> (e.g. <c>sha1</c>), <see cref="Hex"/> lowercase hex.</summary>
public readonly record struct ExecutableDigest(string Type, string Hex);
