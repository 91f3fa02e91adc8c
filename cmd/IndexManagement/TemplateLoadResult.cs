namespace Shipper.IndexManagement;

public enum TemplateLoadResult
{
    Loaded,

    /// <summary>The template exists and <c>setup.template.overwrite</c> is false.</summary>
    AlreadyExists,
}
