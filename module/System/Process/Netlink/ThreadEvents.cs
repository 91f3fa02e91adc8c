namespace Shipper.Module.System.Process.Netlink;

/// <summary>
/// The proc connector reports tasks, and a thread is a task: a fork that creates a thread, a thread's exit,
/// a thread renaming itself. Those are not process events (though a thread's exit ends its process when the main
/// thread ended first, see <see cref="ThreadGroupExits"/>). A task is a thread when its pid (task id) differs
/// from its tgid (process id). For fork the test applies to the child.
/// </summary>
public static class ThreadEvents
{
    public static bool IsThreadEvent(in ProcConnectorEvent e) => e.Pid != e.Tgid;
}
