/// Store granularity libpmem2 reported for a mapping.
public enum Granularity: String, Sendable {
    /// Durable once visible (eADR); only ordering fences needed.
    case byte
    /// Needs cache-line flushes (or non-temporal stores) and a fence.
    case cacheLine = "cache line"
    /// Needs msync of the pages: any non-DAX file.
    case page
}
