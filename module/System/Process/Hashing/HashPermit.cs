namespace Shipper.Module.System.Process.Hashing;

/// <summary>Whether and how a process's executable may be read, decided from its mount namespace and path.</summary>
internal enum HashPermit
{
    /// <summary>Our mount namespace: through <c>/proc/&lt;pid&gt;/exe</c>, or by its path once the process is gone.</summary>
    ProcOrPath,

    /// <summary>Another namespace (with <c>other_namespaces</c>) or a deleted file: only through <c>/proc/&lt;pid&gt;/exe</c>.</summary>
    ProcOnly,

    /// <summary>Our namespace, but the path is not absolute: not hashed.</summary>
    NotAbsolute,

    /// <summary>The namespace was not read (the process was gone): not guessed.</summary>
    UnknownNamespace,

    /// <summary>Another namespace without <c>other_namespaces</c>: not hashed.</summary>
    OtherNamespace,

    /// <summary>Another namespace and no pid to read through: not hashed.</summary>
    NoPid,
}
