// Desc builds the TypeDesc metadata WSDL2Java generates into each bean: the
// XML name and type of every member, so Axis writes the WSDL's names
// (Phone, not phone) instead of the JavaBean ones.
import javax.xml.namespace.QName;
import org.apache.axis.description.ElementDesc;
import org.apache.axis.description.TypeDesc;
class Desc {
    static TypeDesc of(Class<?> c, String type, String[][] fields) {
        TypeDesc d = new TypeDesc(c, true);
        d.setXmlType(new QName("uri:egovmsg", type));
        for (String[] f : fields) {
            ElementDesc e = new ElementDesc();
            e.setFieldName(f[0]);
            e.setXmlName(new QName("", f[1]));
            String ns = f[2].startsWith("tns:") ? "uri:egovmsg" : "http://www.w3.org/2001/XMLSchema";
            e.setXmlType(new QName(ns, f[2].replace("tns:", "")));
            e.setNillable(true);
            d.addFieldDesc(e);
        }
        return d;
    }
}
