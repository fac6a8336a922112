#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TraceFormat
import TraceVolume

extension LaneWriter {
    /// Appends `data` as one record; the same guarantees and cost as
    /// `append(_:kind:timestamp:contiguous:)` (not durable until `commit()`,
    /// no fence, one copy into the region).
    public func append(_ data: Data, kind: RecordKind = .blob, timestamp: UInt64? = nil, contiguous: Bool = false) throws(TraceError) {
        let result = data.withUnsafeBytes { b in
            Result { () throws(TraceError) in try append(b, kind: kind, timestamp: timestamp, contiguous: contiguous) }
        }
        try result.get()
    }
}

extension RecordView {
    /// The whole payload, copied into a `Data` (all fragments, in order).
    /// Checked when the reader handed the record out; use `verifiedData()`
    /// where a concurrent writer could reuse the segment. Cost: one copy.
    public var data: Data {
        var d = Data(capacity: length)
        forEachFragment { d.append(contentsOf: $0) }
        return d
    }

    /// The whole payload copied out and checked as it is copied (see
    /// `copyVerified(_:)`). Cost: one copy and one checksum pass.
    /// - Throws: `.recordChanged` when the record changed under the copy.
    public func verifiedData() throws(TraceError) -> Data {
        var d = Data(capacity: length)
        try copyVerified { d.append(contentsOf: $0) }
        return d
    }
}

extension BorrowedRecord {
    /// The whole payload, copied into a `Data`. Cost: one copy.
    public var data: Data {
        var d = Data(capacity: length)
        forEachFragment { d.append(contentsOf: $0) }
        return d
    }
}
